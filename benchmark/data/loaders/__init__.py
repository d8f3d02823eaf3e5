"""Loaders for the raw public formats users bring; each returns :class:`benchmark.data.canonical.CanonicalData`.

One module per format: ``amazon18`` (Amazon Review Data 2018 JSON lines), ``amazon23`` (Amazon Reviews 2023
JSONL, or a Hugging Face dataset through ``load_amazon23_hub``), ``recbole`` (RecBole atomic files, incl.
UniSRec/LLMRank sequential files), ``rechorus`` (ReChorus CSV), ``kuaisar`` (KuaiSAR CSV). docs/DATA.md lists
the fields each relies on.
"""

from benchmark.data.loaders.amazon18 import load_amazon18
from benchmark.data.loaders.amazon23 import load_amazon23, load_amazon23_hub
from benchmark.data.loaders.kuaisar import load_kuaisar
from benchmark.data.loaders.recbole import load_recbole
from benchmark.data.loaders.rechorus import load_rechorus

__all__ = ["load_amazon18", "load_amazon23", "load_amazon23_hub", "load_kuaisar", "load_rechorus", "load_recbole"]
