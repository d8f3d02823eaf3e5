"""The dataset registry: each public dataset with its files, sha256 checksums and pinned public URLs
(raw.githubusercontent.com/<repo>/<commit>/<path>, from each folder's SOURCE.txt), plus ``synthetic``.

A user's data directory holds ``<dataset name>/<file name>`` (the layout of ../shared/data); the file names
are the local names below (amazon18-games renames LLMRank's ``Games-6k.*.inter`` to ``Games.*.inter``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from benchmark.data import sources
from benchmark.registry import Registry


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    name: str  # local file name inside <data dir>/<dataset>/
    sha256: str
    url: str  # pinned to a commit: the bytes behind it never change
    size: int


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    citation: str
    files: tuple[RemoteFile, ...]
    source: Callable  # (files: dict[str, Path], config: DataConfig) -> (CanonicalData, SplitRows, notes)
    synthetic: bool = False
    license: str = ""

    def file(self, name: str) -> RemoteFile:
        return next(f for f in self.files if f.name == name)


def _raw(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_COWPIREC = ("ysh-1998/CoWPiRec", "db47560c2364650d22afc77080717287daec5079")
_LLMRANK = ("RUCAIBox/LLMRank", "5ec1154cb74cbf68ed5721212f1d7e79336c39c7")
_LRD = ("ysh-1998/LRD", "ccbd8299c71bb0d26488d67b622706caf9139e21")

DATASETS: Registry[DatasetSpec] = Registry("dataset")

DATASETS.register("amazon18-scientific", DatasetSpec(
    name="amazon18-scientific",
    description="Amazon 2018 Industrial_and_Scientific (UniSRec preprocessing): 8,442 users, 4,385 items, "
                "titles + category paths + brands; the primary dataset",
    citation="Ni, Li, McAuley (EMNLP 2019); Hou et al., UniSRec (KDD 2022)",
    license="Amazon Review Data 2018: research use (McAuley lab); files via ysh-1998/CoWPiRec (no license file)",
    files=tuple(RemoteFile(name, sha, _raw(*_COWPIREC, f"dataset/Scientific/{name}"), size) for name, sha, size in (
        ("Scientific.text", "95887e6bda76e54f59b71b566320520d5da74e21d3b6ff8f20bfb6e8e84aa831", 859222),
        ("Scientific.item2index", "896ab1017508cf20834d3d0537da9f8f624324223a835af272a98ba16f8c087a", 69050),
        ("Scientific.train.inter", "7284f6489d956fa20c9b64ffc84569264320edba5c3bc2fcb22db2ea083a1163", 929295),
        ("Scientific.valid.inter", "5f37c84d3b54617cdc46638c89dfe8741c7efc4987acd5eb64de2cbd4311f46c", 271473),
        ("Scientific.test.inter", "546da7e5f44002b4518d7fd58066684bc09613f76c240914e16976d57cfe7083", 309842),
    )),
    source=sources.amazon18_scientific,
))

DATASETS.register("amazon18-games", DatasetSpec(
    name="amazon18-games",
    description="Amazon 2018 Video_Games (LLMRank preprocessing): 50,546 users, 16,859 items, 440,264 "
                "interactions, titles only; leave-one-out",
    citation="Ni, Li, McAuley (EMNLP 2019); Hou et al., LLMRank (ECIR 2024)",
    license="Amazon Review Data 2018: research use (McAuley lab); files via RUCAIBox/LLMRank (MIT)",
    files=(
        RemoteFile("Games.item", "be9cea58a8de4f940a20b0ad6b58bad46b22fd6f9dbc82d1a1902e1c62e96ade",
                   _raw(*_LLMRANK, "llmrank/dataset/Games/Games.item"), 837183),
        RemoteFile("Games.test.inter", "b241e4c8a52d2d41530fd073296e8bced4b61753e86ed6c51467c657704bab19",
                   _raw(*_LLMRANK, "llmrank/dataset/Games-6k/Games-6k.test.inter"), 2501199),
        RemoteFile("Games.valid.inter", "af84810be2c86cc4e7567ebe6355baf78e6e49889ceaa3174769020fd9495f17",
                   _raw(*_LLMRANK, "llmrank/dataset/Games-6k/Games-6k.valid.inter"), 2246866),
    ),
    source=sources.amazon18_games,
))

DATASETS.register("amazon14-office", DatasetSpec(
    name="amazon14-office",
    description="Amazon 2014 Office_Products 5-core (ReChorus format, LRD): 4,905 users, 2,420 items, "
                "unix timestamps; temporal split",
    citation="McAuley et al. (SIGIR 2015); He & McAuley (WWW 2016); Yang et al., LRD (SIGIR 2024)",
    license="Amazon product data 2014: research use (McAuley lab); files via ysh-1998/LRD (MIT)",
    files=tuple(RemoteFile(name, sha, _raw(*_LRD, f"data/Office/{name}"), size) for name, sha, size in (
        ("Office.text", "34932e3a6cd6b6d9e999608b309cfa5c6811084dc8be77a18ae89de50da7f862", 262133),
        ("Office.item2index", "4a1d4bb829f89ce23f7f8e6637238a2f9049ca28fed4e73840b36fdba479a046", 37613),
        ("train.csv", "015236e98589dac0801be8fe16519d95735b2efbd64bec890685297a1bc69fec", 878556),
        ("dev.csv", "f94b18e4be2f7322905b7fd152bce78e4d554cb7561426fab6855e7df07790a0", 2795789),
        ("test.csv", "5b5fb42bf500ca344d565461706cdb548ebf21b371f3f871d517d8c967e63ed6", 2797230),
        ("item_meta.csv", "dbefb00348f251c56d77687c1b3c369fbb35c3a48cb9fd6de25eca54f19d0c97", 340752),
    )),
    source=sources.amazon14_office,
))

DATASETS.register("synthetic", DatasetSpec(
    name="synthetic",
    description="generated catalog + users with latent preferences (SyntheticConfig); for tests and smoke "
                "runs, not public data",
    citation="grbench synthetic generator (docs/DATA.md)",
    files=(),
    source=sources.synthetic,
    synthetic=True,
))


def list_datasets() -> list[str]:
    """Registered dataset names: the public ones first, then ``synthetic``."""
    return DATASETS.names()


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; an unknown name raises UnknownNameError with the closest names and the list."""
    return DATASETS.get(name)
