"""The data harness: public logs -> canonical tables -> queries -> click simulation -> splits (BuiltDataset).

Public API (docs/ARCHITECTURE.md "Data: benchmark.data"; protocol in docs/DATA.md)::

    build_dataset(name, config=DataConfig(), data_dir=None, force=False) -> BuiltDataset
    list_datasets() -> ["amazon18-scientific", "amazon18-games", "amazon14-office", "synthetic"]
"""

from benchmark.data.build import build_dataset, build_from_canonical
from benchmark.data.canonical import CanonicalData
from benchmark.data.config import ClickConfig, DataConfig, RankerConfig, SyntheticConfig
from benchmark.data.dataset import BuiltDataset
from benchmark.data.registry import list_datasets

__all__ = [
    "BuiltDataset",
    "CanonicalData",
    "ClickConfig",
    "DataConfig",
    "RankerConfig",
    "SyntheticConfig",
    "build_dataset",
    "build_from_canonical",
    "list_datasets",
]
