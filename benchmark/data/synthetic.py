"""The synthetic world: the embedded default for tests and smoke runs. It is generated, never public data.

- Catalog: a category tree below the root "Synthetic Store" with ``branching`` children per level (departments,
  category types, product types); items are spread over the leaves (at least two per leaf). A title is
  brand + attribute + colour + the leaf's name + a size, so title terms and category words overlap as on Amazon.
- Users: latent preferences = a Dirichlet(category_concentration) distribution over leaves and a
  Dirichlet(brand_concentration) distribution over brands.
- Sequences: length uniform in [min_seq_len, max_seq_len]; each next leaf stays among the previous leaf's
  siblings with probability ``stickiness`` (sessions dwell in a category), else follows the preference; the
  item within the leaf is drawn proportional to item popularity (Zipf within the leaf) times brand preference,
  never repeating an item.

True relevance is then defined by the same query protocol as public data (category nodes), so a synthetic
build exercises exactly the pipeline a public one does.
"""

from __future__ import annotations

import itertools

import numpy as np

from benchmark.data.canonical import (
    CATEGORY_SEPARATOR,
    CanonicalData,
    compose_text,
    make_interactions,
    make_items,
    validate,
)
from benchmark.data.config import SyntheticConfig

ROOT = "Synthetic Store"
DEPARTMENTS = (
    "Kitchen", "Garden", "Office", "Camping", "Audio", "Lighting", "Plumbing", "Fitness", "Automotive", "Pet",
    "Baby", "Craft", "Laboratory", "Bath", "Storage", "Cleaning", "Workshop", "Marine", "Party", "Travel",
)
KINDS = ("Tools", "Supplies", "Accessories", "Equipment", "Furniture", "Electronics", "Decor", "Parts", "Care",
         "Organizers", "Safety", "Gadgets")
MODIFIERS = ("Portable", "Electric", "Manual", "Heavy Duty", "Compact", "Digital", "Folding", "Wireless",
             "Stainless", "Adjustable", "Magnetic", "Rechargeable", "Insulated", "Waterproof", "Modular",
             "Ceramic", "Bamboo", "Silicone", "Telescoping", "Cordless")
NOUNS = ("Hose", "Rake", "Shears", "Gloves", "Lamp", "Bulb", "Cable", "Speaker", "Mat", "Bottle", "Brush",
         "Kettle", "Knife", "Scale", "Tent", "Lantern", "Pump", "Valve", "Filter", "Timer", "Clamp", "Drill",
         "Sander", "Tape", "Marker", "Binder", "Stapler", "Chair", "Desk", "Shelf", "Basket", "Hook", "Rack",
         "Tray", "Jar", "Bowl", "Towel", "Sponge", "Mop", "Broom", "Bucket", "Ladder", "Cart", "Fan", "Heater",
         "Meter", "Probe", "Sensor", "Pipette", "Beaker", "Flask", "Leash", "Collar", "Feeder", "Blanket",
         "Pillow", "Cooler", "Grill", "Charger", "Organizer")
ATTRIBUTES = ("Premium", "Classic", "Pro", "Eco", "Ultra", "Mini", "Max", "Plus", "Essential", "Deluxe",
              "Basic", "Smart", "Travel", "Studio", "Outdoor", "Home")
COLOURS = ("Black", "White", "Red", "Blue", "Green", "Silver", "Grey", "Orange", "Yellow", "Purple")
UNITS = ("in", "cm", "oz", "ml", "ft", "lb")
SYLLABLES_A = ("Nor", "Vel", "Kar", "Bri", "Zen", "Lum", "Ost", "Tra", "Mira", "Quo", "Hal", "Sto", "Pex", "Dra")
SYLLABLES_B = ("vex", "tek", "ora", "lio", "dex", "ium", "ant", "ix", "oni", "uma", "ero", "yst")


def _names(pool: tuple[str, ...], count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct names drawn from ``pool`` (numbered once the pool runs out)."""
    picks = [pool[i] for i in rng.permutation(len(pool))[: min(count, len(pool))]]
    picks += [f"{pool[i % len(pool)]} {i // len(pool) + 2}" for i in range(len(pool), count)]
    return picks


def _leaf_names(count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Distinct (modifier, noun) product types."""
    combos = list(itertools.product(MODIFIERS, NOUNS))
    chosen = rng.permutation(len(combos))[:count]
    out = [combos[i] for i in chosen]
    out += [(f"Series {i}", NOUNS[i % len(NOUNS)]) for i in range(len(out), count)]
    return out


def _tree(config: SyntheticConfig, rng: np.random.Generator) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Leaf paths (below the root) and, per leaf, the index of its parent group (for stickiness)."""
    paths: list[tuple[str, ...]] = [()]
    for depth, fanout in enumerate(config.branching):
        is_leaf_level = depth == len(config.branching) - 1
        nxt: list[tuple[str, ...]] = []
        if depth == 0:
            names = _names(DEPARTMENTS, fanout, rng)
            nxt = [(n,) for n in names]
        elif not is_leaf_level:
            for path in paths:
                kinds = _names(KINDS, fanout, rng)
                nxt += [path + (f"{path[-1].split()[0]} {kind}",) for kind in kinds]
        else:
            leaves = _leaf_names(len(paths) * fanout, rng)
            for i, path in enumerate(paths):
                nxt += [path + (f"{m} {n}",) for m, n in leaves[i * fanout:(i + 1) * fanout]]
        paths = nxt
    fanout = config.branching[-1]
    parent_group = np.repeat(np.arange(len(paths) // fanout), fanout)
    return paths, parent_group


def generate(config: SyntheticConfig) -> CanonicalData:
    """A synthetic catalog and interaction log (deterministic in ``config``)."""
    rng = np.random.default_rng([config.seed, 0x5E])
    leaves, parent_group = _tree(config, rng)
    n_leaves = len(leaves)
    brands = [a + b for a, b in itertools.product(SYLLABLES_A, SYLLABLES_B)]
    brands = [brands[i] for i in rng.permutation(len(brands))[: config.n_brands]]
    brands += [f"Brand{i}" for i in range(len(brands), config.n_brands)]

    # Items over leaves: two per leaf first (every leaf is a multi-item category), the rest at random.
    leaf_of = np.concatenate([np.repeat(np.arange(n_leaves), 2),
                              rng.integers(0, n_leaves, config.n_items - 2 * n_leaves)])
    leaf_of = np.sort(leaf_of, kind="stable")
    brand_of = rng.integers(0, config.n_brands, config.n_items)
    titles, categories, texts = [], [], []
    for item in range(config.n_items):
        path = leaves[leaf_of[item]]
        brand = brands[brand_of[item]]
        title = (f"{brand} {ATTRIBUTES[rng.integers(len(ATTRIBUTES))]} {COLOURS[rng.integers(len(COLOURS))]} "
                 f"{path[-1]} {int(rng.integers(2, 40))} {UNITS[rng.integers(len(UNITS))]}")
        category = CATEGORY_SEPARATOR.join((ROOT,) + path)
        titles.append(title)
        categories.append(category)
        texts.append(compose_text(title, category, brand))
    items = make_items([f"SYN{i:06d}" for i in range(config.n_items)], titles=titles, categories=categories,
                       brands=[brands[b] for b in brand_of], texts=texts)

    # Popularity: Zipf within each leaf, over a random rank order.
    popularity = np.empty(config.n_items)
    for leaf in range(n_leaves):
        members = np.flatnonzero(leaf_of == leaf)
        ranks = rng.permutation(len(members)) + 1
        popularity[members] = 1.0 / ranks.astype(np.float64) ** config.popularity_exponent
    leaf_members = [np.flatnonzero(leaf_of == leaf) for leaf in range(n_leaves)]

    users, seq_items = [], []
    for user in range(config.n_users):
        leaf_pref = rng.dirichlet(np.full(n_leaves, config.category_concentration))
        brand_pref = rng.dirichlet(np.full(config.n_brands, config.brand_concentration))
        length = int(rng.integers(config.min_seq_len, config.max_seq_len + 1))
        used: set[int] = set()
        leaf = int(rng.choice(n_leaves, p=leaf_pref))
        for step in range(length):
            if step > 0:
                if rng.random() < config.stickiness:
                    siblings = np.flatnonzero(parent_group == parent_group[leaf])
                    p = leaf_pref[siblings] + 1e-12
                    leaf = int(rng.choice(siblings, p=p / p.sum()))
                else:
                    leaf = int(rng.choice(n_leaves, p=leaf_pref))
            item = _pick_item(leaf_members[leaf], used, popularity, brand_pref, brand_of, config.n_brands, rng)
            if item < 0:  # the leaf is exhausted for this user: any unused item of a preferred leaf
                order = np.argsort(-leaf_pref, kind="stable")
                item = next(i for lf in order for i in leaf_members[lf] if i not in used)
            used.add(item)
            users.append(user)
            seq_items.append(item)
    interactions = make_interactions(np.asarray(users), np.asarray(seq_items), None)
    return validate(CanonicalData(items, interactions, tuple(f"synthetic-user-{u}" for u in range(config.n_users)),
                                  f"synthetic generator (seed {config.seed})"))


def _pick_item(members: np.ndarray, used: set[int], popularity: np.ndarray, brand_pref: np.ndarray,
               brand_of: np.ndarray, n_brands: int, rng: np.random.Generator) -> int:
    free = np.array([m for m in members if m not in used], dtype=np.int64)
    if len(free) == 0:
        return -1
    weight = popularity[free] * (brand_pref[brand_of[free]] + 1.0 / n_brands)
    return int(rng.choice(free, p=weight / weight.sum()))
