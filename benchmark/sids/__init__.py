"""Semantic IDs (DESIGN.md section 4): item text -> embeddings -> RQ-KMeans codes -> ``SidCatalog`` + trie.

    catalog = build_sids(dataset, SidConfig(seed=0))     # cached under cache_root()/sids/<name>/<key>/
    catalog = build_sids(dataset, SidConfig(builder="sci"))   # another registered builder
    catalog.sid_of(item) ; catalog.items_for(sid) ; catalog.allowed_next(prefix) ; catalog.stats()

Modules: ``config`` (SidConfig, DualTowerConfig), ``builders`` (the registry of SID builders: rqkmeans,
dualtower, sci), ``dualtower`` (the trained dual tower and SCI), ``buckets`` (head / torso / tail popularity
buckets), ``embed`` (text encoders, cached embeddings), ``cooccurrence``
(embeddings for catalogs without text), ``rqkmeans`` (faiss residual k-means, default codebook scaling),
``trie`` (prefix trie), ``catalog`` (SidCatalog, save/load), ``stats`` (collision, preference-pair and
per-bucket statistics), ``build`` (the cached pipeline).
"""

from benchmark.sids.buckets import popularity_buckets
from benchmark.sids.build import build_key, build_sids
from benchmark.sids.builders import builder_names, get_builder
from benchmark.sids.catalog import SidCatalog, load_catalog
from benchmark.sids.config import DualTowerConfig, SidConfig
from benchmark.sids.rqkmeans import default_codebook_sizes
from benchmark.sids.trie import PrefixTrie

__all__ = [
    "DualTowerConfig",
    "PrefixTrie",
    "SidCatalog",
    "SidConfig",
    "build_key",
    "build_sids",
    "builder_names",
    "default_codebook_sizes",
    "get_builder",
    "load_catalog",
    "popularity_buckets",
]
