"""Cold start through the run pipeline (benchmark.suite.stages.prepare) on the smoke profile's sids runs: the
run's split, its real SID catalog (dual-tower builder: the tower trains on the filtered clicks), tokenizer and
training examples of both stages never involve a cold item, cold items keep reachable SIDs, and the cold
setting reaches every cache key (split, catalog, SFT checkpoint)."""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmark.sids.coldstart import cold_mask
from benchmark.sids.dualtower import training_pairs
from benchmark.suite import stages
from benchmark.suite.matrix import expand, resolve
from benchmark.suite.profiles import load_profile


def test_a_cold_start_run_trains_on_no_cold_item() -> None:
    profile = load_profile("smoke")
    spec = next(s for s in expand(profile, only=("sids",)) if s.variant.get("builder") == "sci")
    assert spec.cold_start == 0.05
    prepared = stages.prepare(spec, None)
    warm = stages.prepare(dataclasses.replace(spec, cold_start=0.0), None)
    mask = cold_mask(prepared.dataset)
    assert mask is not None and cold_mask(warm.dataset) is None
    assert mask.sum() == round(0.05 * len(mask)) > 0
    # the cold setting reaches every cache key: split, catalog (popularity and tower pairs), SFT checkpoint
    assert prepared.dataset.split_hash != warm.dataset.split_hash
    assert prepared.dataset.test_hash == warm.dataset.test_hash
    assert prepared.catalog.catalog_hash != warm.catalog.catalog_hash
    assert stages.sft_key(spec, prepared) != stages.sft_key(dataclasses.replace(spec, cold_start=0.0), warm)
    assert prepared.metadata("xs")["cold_start"]["items"] == mask.sum() and "cold_start" not in warm.metadata("xs")
    # the builder's training signal: popularity and the dual tower's pairs
    assert (prepared.catalog.item_popularity[mask] == 0).all()
    _, _, pair_items = training_pairs(prepared.dataset.train)
    assert len(pair_items) and not mask[pair_items].any() and mask[training_pairs(warm.dataset.train)[2]].any()
    # the examples both training stages see (real catalog and tokenizer, the profile's candidate caps)
    resolved = resolve(spec)
    for stage, config in (("sft", resolved.sft), ("preference", resolved.preference)):
        examples = prepared.examples(stage, config.max_candidates)
        assert examples and not any(mask[i] for ex in examples for i in ex.item_ids), stage
        warm_examples = warm.examples(stage, config.max_candidates)
        assert any(mask[i] for ex in warm_examples for i in ex.item_ids), stage  # the check can fail
    # cold items keep their SIDs: each is reachable through its SID
    cold = np.flatnonzero(mask)
    assert all(int(c) in prepared.catalog.items_for(prepared.catalog.sid_of(int(c))) for c in cold)
    # their test rows are the cold bucket
    frame = stages.eval_queries(prepared, "test", None)
    assert np.array_equal(frame["target_bucket"].to_numpy() == "cold", mask[frame["target"].to_numpy()])
    assert (frame["target_bucket"] == "cold").any()
