"""Semantic IDs (DESIGN.md section 4): item text -> embeddings -> RQ-KMeans codes -> ``SidCatalog`` + trie.

    catalog = build_sids(dataset, SidConfig(seed=0))     # cached under cache_root()/sids/<name>/<key>/
    catalog.sid_of(item) ; catalog.items_for(sid) ; catalog.allowed_next(prefix) ; catalog.stats()

Modules: ``config`` (SidConfig), ``embed`` (text encoders, cached embeddings), ``cooccurrence``
(embeddings for catalogs without text), ``rqkmeans`` (faiss residual k-means, default codebook scaling),
``trie`` (prefix trie), ``catalog`` (SidCatalog, save/load), ``stats`` (collision and preference-pair
statistics), ``build`` (the cached pipeline).
"""

from benchmark.sids.build import build_key, build_sids
from benchmark.sids.catalog import SidCatalog, load_catalog
from benchmark.sids.config import SidConfig
from benchmark.sids.rqkmeans import default_codebook_sizes
from benchmark.sids.trie import PrefixTrie

__all__ = [
    "PrefixTrie",
    "SidCatalog",
    "SidConfig",
    "build_key",
    "build_sids",
    "default_codebook_sizes",
    "load_catalog",
]
