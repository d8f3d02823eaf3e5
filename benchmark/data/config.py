"""Configuration of the data harness: query derivation, the production-ranker proxy, the click model and the
synthetic generator. Every value is validated where it is set (scikit-learn style messages).

Defaults follow DESIGN.md section 3 and docs/DATA.md: K = 10 exposed items, position-bias exponent eta = 1
(Joachims et al. 2017 report roughly 1/rank examination), a 5 % noise floor for clicks on irrelevant items.
"""

from __future__ import annotations

import dataclasses

from benchmark.config import check_int_list, check_number
from benchmark.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ClickConfig:
    """Position-based click model (Richardson et al. 2007; Joachims et al. 2017).

    P(click at rank k) = theta_k * p(grade), theta_k = (1/k)^eta; p(0) = noise_floor,
    p(1) = relevant_click_prob, p(2) = target_click_prob. The ordered item (grade 2) is the only grade-2 item
    and an order implies a click, so ``target_click_prob`` is fixed at 1: it is kept as a parameter so the
    grade -> click table is explicit and recorded with every build.
    """

    exposure_k: int = 10
    eta: float = 1.0
    noise_floor: float = 0.05
    relevant_click_prob: float = 0.6
    target_click_prob: float = 1.0

    def __post_init__(self) -> None:
        check_number("ClickConfig", "exposure_k", self.exposure_k, low=1, high=100, integer=True)
        check_number("ClickConfig", "eta", self.eta, low=0.0, high=float("inf"), high_open=True)
        check_number("ClickConfig", "noise_floor", self.noise_floor, low=0.0, high=1.0)
        check_number("ClickConfig", "relevant_click_prob", self.relevant_click_prob, low=0.0, high=1.0)
        check_number("ClickConfig", "target_click_prob", self.target_click_prob, low=1.0, high=1.0)
        if self.noise_floor > self.relevant_click_prob:
            # DESIGN.md 3: click probability given examination grows with graded relevance.
            raise ConfigError(
                f"The 'noise_floor' parameter of ClickConfig must not exceed 'relevant_click_prob' (clicks grow "
                f"with relevance). Got noise_floor={self.noise_floor!r} > "
                f"relevant_click_prob={self.relevant_click_prob!r} instead."
            )


@dataclasses.dataclass(frozen=True)
class RankerConfig:
    """The production-ranker proxy that decides which K items an impression exposes.

    Candidate pool per impression: the ordered item, ``pool_relevant`` draws from the query's relevant items,
    ``pool_near_miss`` draws from near misses (same parent category / sharing a title term) and
    ``pool_popular`` draws proportional to popularity. Score = relevance_weight * grade +
    popularity_weight * log-popularity (scaled to [0, 1]) + N(0, noise_std^2); the top K are exposed.
    """

    pool_relevant: int = 10
    pool_near_miss: int = 10
    pool_popular: int = 10
    relevance_weight: float = 1.0
    popularity_weight: float = 0.5
    noise_std: float = 0.75

    def __post_init__(self) -> None:
        for name in ("pool_relevant", "pool_near_miss", "pool_popular"):
            check_number("RankerConfig", name, getattr(self, name), low=0, high=1000, integer=True)
        check_number("RankerConfig", "relevance_weight", self.relevance_weight, low=0.0, high=float("inf"), high_open=True)
        check_number("RankerConfig", "popularity_weight", self.popularity_weight, low=0.0, high=float("inf"), high_open=True)
        check_number("RankerConfig", "noise_std", self.noise_std, low=0.0, high=float("inf"), high_open=True)


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and shape of the synthetic world (catalog tree, users with latent preferences, sequences).

    Small by default so a whole smoke suite trains in a minute or two. ``seed`` fixes the world; the
    DataConfig seed then drives queries, clicks and shuffles exactly as for public data.
    """

    seed: int = 0
    n_items: int = 600
    n_users: int = 400
    n_brands: int = 24
    branching: tuple[int, ...] = (4, 3, 3)
    min_seq_len: int = 5
    max_seq_len: int = 14
    category_concentration: float = 0.3
    brand_concentration: float = 0.5
    stickiness: float = 0.5
    popularity_exponent: float = 1.0

    def __post_init__(self) -> None:
        check_number("SyntheticConfig", "seed", self.seed, low=0, integer=True)
        check_number("SyntheticConfig", "n_items", self.n_items, low=10, high=1_000_000, integer=True)
        check_number("SyntheticConfig", "n_users", self.n_users, low=2, high=1_000_000, integer=True)
        check_number("SyntheticConfig", "n_brands", self.n_brands, low=1, high=10_000, integer=True)
        check_int_list("SyntheticConfig", "branching", self.branching, low=1)
        if len(self.branching) > 4:
            raise ConfigError(
                f"The 'branching' parameter of SyntheticConfig must have at most 4 levels. "
                f"Got {list(self.branching)!r} instead."
            )
        check_number("SyntheticConfig", "min_seq_len", self.min_seq_len, low=3, high=1000, integer=True)
        check_number("SyntheticConfig", "max_seq_len", self.max_seq_len, low=self.min_seq_len, high=1000, integer=True)
        check_number("SyntheticConfig", "category_concentration", self.category_concentration, low=0.0, low_open=True,
                     high=float("inf"), high_open=True)
        check_number("SyntheticConfig", "brand_concentration", self.brand_concentration, low=0.0, low_open=True,
                     high=float("inf"), high_open=True)
        check_number("SyntheticConfig", "stickiness", self.stickiness, low=0.0, high=1.0)
        check_number("SyntheticConfig", "popularity_exponent", self.popularity_exponent, low=0.0, high=10.0)
        if self.n_items < 2 * _product(self.branching):
            raise ConfigError(
                f"The 'n_items' parameter of SyntheticConfig must be at least 2 per leaf category "
                f"(2 * {_product(self.branching)} leaves for branching {list(self.branching)}). Got {self.n_items} instead."
            )


def _product(values: tuple[int, ...]) -> int:
    out = 1
    for value in values:
        out *= int(value)
    return out


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Everything that shapes a built dataset besides its input files (all of it enters the cache key).

    ``min_positives``: a query node / title term must match at least this many items (multi-positive queries,
    DESIGN.md 3). ``max_term_items``: title terms matching more items than this are too generic to be a query
    (e.g. "playstation"). ``history_len``: most recent items kept in a prompt's history.

    ``protocol``: the evaluation protocol (DESIGN.md 3 "Protocol version 2"). Version 2 (the default) holds a
    seeded, size-stratified ``unseen_query_share`` of the queries out of all training (their training rows are
    dropped), marks each valid/test row with ``query_seen`` and learns the vocabulary from training queries
    only, so results are reported on seen and unseen queries. Version 1 (no hold-out; 99 % of test rows repeat
    a training query) stays selectable so that its results remain reproducible: its tables and hashes are
    those of the builds made before version 2 existed. ``unseen_query_share`` is ignored under version 1.
    """

    seed: int = 0
    history_len: int = 10
    min_positives: int = 3
    max_query_words: int = 4
    max_term_items: int = 100
    protocol: int = 2
    unseen_query_share: float = 0.15
    clicks: ClickConfig = dataclasses.field(default_factory=ClickConfig)
    ranker: RankerConfig = dataclasses.field(default_factory=RankerConfig)
    synthetic: SyntheticConfig = dataclasses.field(default_factory=SyntheticConfig)

    def __post_init__(self) -> None:
        check_number("DataConfig", "seed", self.seed, low=0, high=2**32 - 1, integer=True)
        check_number("DataConfig", "history_len", self.history_len, low=1, high=1000, integer=True)
        check_number("DataConfig", "min_positives", self.min_positives, low=1, high=10_000, integer=True)
        check_number("DataConfig", "max_query_words", self.max_query_words, low=1, high=16, integer=True)
        check_number("DataConfig", "max_term_items", self.max_term_items, low=self.min_positives, high=10_000_000,
                     integer=True)
        check_number("DataConfig", "protocol", self.protocol, low=1, high=2, integer=True)
        check_number("DataConfig", "unseen_query_share", self.unseen_query_share, low=0.0, high=1.0, high_open=True)
        for name, cls in (("clicks", ClickConfig), ("ranker", RankerConfig), ("synthetic", SyntheticConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(
                    f"The {name!r} parameter of DataConfig must be a {cls.__name__}. "
                    f"Got {getattr(self, name)!r} instead."
                )


def legacy_omitted(config: DataConfig) -> tuple[str, ...]:
    """Fields a run key leaves out: a protocol-1 config hashes exactly as it did before the protocol fields
    existed, so the results computed then keep their run ids (and ``grbench run --set data.protocol=1`` finds
    them finished). A stored config without ``protocol`` is protocol 1 everywhere it is read."""
    return ("protocol", "unseen_query_share") if config.protocol == 1 else ()
