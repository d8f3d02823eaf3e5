"""Variable-length SIDs in beam search: ``<eos>`` may end a beam at any level the catalog allows.

A catalog with mixed lengths (1,), (1, 2), (2, 0, 1), (3, 4): (1,) is both a complete SID and the prefix of
(1, 2). A real tiny Qwen3-style model is trained (SFT on prompt -> codes + <eos>) until constrained beam search
decodes each item's SID exactly; exhaustive widths are checked against brute-force log-probabilities.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from benchmark.decoding import beam_search
from benchmark.metrics import hallucination_rate
from benchmark.model import SidTokenizer
from benchmark.sids.catalog import SidCatalog
from tests.model.tiny import tiny_model

TOL = 1e-4
SIZES = (4, 5, 2)
SIDS = [(1,), (1, 2), (2, 0, 1), (3, 4)]
WORDS = ["alpha", "beta", "gamma", "delta"]  # item i is asked for with query WORDS[i]


def padded(sids: list[tuple[int, ...]], levels: int) -> np.ndarray:
    return np.array([list(s) + [-1] * (levels - len(s)) for s in sids])


@pytest.fixture(scope="module")
def tok() -> SidTokenizer:
    return SidTokenizer.build([" ".join(WORDS)], SIZES)


@pytest.fixture(scope="module")
def catalog() -> SidCatalog:
    return SidCatalog(padded(SIDS, 3), SIZES, np.zeros(len(SIDS)), split_hash="varlen")


@pytest.fixture(scope="module")
def trained(tok):
    """A tiny model trained to map prompt WORDS[i] to SIDS[i] + <eos> (full-batch Adam, fixed seed)."""
    torch.manual_seed(0)
    model = tiny_model(tok, seed=3, std=0.1)
    prompts = [tok.encode_prompt(w, []) for w in WORDS]
    seqs = [p + tok.target_ids(s) for p, s in zip(prompts, SIDS)]
    longest = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), longest), tok.pad_id)
    labels = torch.full((len(seqs), longest), -100)
    mask = torch.zeros((len(seqs), longest), dtype=torch.long)
    for i, (p, s) in enumerate(zip(prompts, seqs)):
        ids[i, : len(s)] = torch.tensor(s)
        labels[i, len(p) : len(s)] = torch.tensor(s[len(p) :])
        mask[i, : len(s)] = 1
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(150):
        optimizer.zero_grad()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
    model.eval()
    assert loss.item() < 0.05, f"the tiny model did not learn the 4 SIDs (loss {loss.item():.3f})"
    return model, prompts


def exact_logprob(model, prompt, tokens) -> float:
    with torch.no_grad():
        logits = model(torch.tensor([list(prompt) + list(tokens)])).logits[0]
    logps = torch.log_softmax(logits.float(), dim=-1)
    return sum(logps[len(prompt) - 1 + s, t].item() for s, t in enumerate(tokens))


def test_catalog_with_mixed_lengths(catalog: SidCatalog) -> None:
    assert catalog.variable_length and catalog.levels == 3
    assert [catalog.sid_of(i) for i in range(4)] == SIDS
    assert catalog.allowed_next((1,)) == [2] and catalog.end_allowed((1,))  # complete and extendable
    assert catalog.allowed_next(()) == [1, 2, 3] and not catalog.end_allowed(())
    assert catalog.allowed_next((2, 0)) == [1] and not catalog.end_allowed((2, 0))
    assert catalog.allowed_next((3, 4)) == [] and catalog.end_allowed((3, 4))


@pytest.mark.parametrize("shared_prefix", [True, False])
def test_constrained_search_decodes_each_sid_exactly(trained, tok, catalog, shared_prefix) -> None:
    model, prompts = trained
    for width in (1, 2):
        beams = beam_search(model, tok, prompts, width, catalog=catalog, shared_prefix=shared_prefix)
        assert [tok.decode_sid(q[0].token_ids) for q in beams] == SIDS
        assert [q[0].token_ids[-1] for q in beams] == [tok.eos_id] * 4
    # the items behind each decoded SID: exactly the asked-for item
    assert [catalog.items_for(tok.decode_sid(q[0].token_ids)) for q in beams] == [[0], [1], [2], [3]]


def test_unconstrained_variable_search_decodes_each_sid_exactly(trained, tok, catalog) -> None:
    model, prompts = trained
    beams = beam_search(model, tok, prompts, 4, variable_length=True)
    assert [tok.decode_sid(q[0].token_ids) for q in beams] == SIDS
    valid = [[catalog.is_valid(s) for s in (tok.decode_sid(b.token_ids) for b in q) if s is not None] for q in beams]
    assert all(v[0] for v in valid)


@pytest.mark.parametrize("shared_prefix", [True, False])
def test_exhaustive_constrained_width_returns_every_sid_with_exact_scores(tok, catalog, shared_prefix) -> None:
    """Width 4 >= the valid prefixes at every step (3, then 4): the search is exhaustive, so every SID comes
    back with its exact log-probability of codes + <eos>, ranked best first (an untrained model: no ties)."""
    model = tiny_model(tok, seed=7)
    prompt = tok.encode_prompt("beta gamma", [(2, 0, 1), (1,)])
    beams = beam_search(model, tok, [prompt], 4, catalog=catalog, shared_prefix=shared_prefix)[0]
    expected = sorted(
        ((tuple(tok.target_ids(s)), exact_logprob(model, prompt, tok.target_ids(s))) for s in SIDS),
        key=lambda x: -x[1],
    )
    assert [b.token_ids for b in beams] == [s for s, _ in expected]
    assert max(abs(b.score - v) for b, (_, v) in zip(beams, expected)) < TOL
    # a wider beam cannot find more: the -inf fillers are dropped
    wide = beam_search(model, tok, [prompt], 16, catalog=catalog, shared_prefix=shared_prefix)[0]
    assert [b.token_ids for b in wide] == [b.token_ids for b in beams]


def test_exhaustive_unconstrained_variable_search() -> None:
    """Vocabulary of 5 allowed tokens (<unk> + 4 codes) plus <eos> from step 1, L = 2: every sequence is
    t1 <eos> (5) or t1 t2 <eos> (25): 30 <= B = 32, so beam search returns all of them with exact scores."""
    tok = SidTokenizer.build([], (2, 2))
    model = tiny_model(tok, seed=5)
    prompt = tok.encode_prompt("", [(0, 1), (1,)])
    allowed = [tok.unk_id, *tok.level_token_ids(0), *tok.level_token_ids(1)]
    seqs = [(a, tok.eos_id) for a in allowed] + [(a, b, tok.eos_id) for a, b in itertools.product(allowed, allowed)]
    expected = sorted(((s, exact_logprob(model, prompt, s)) for s in seqs), key=lambda x: (-x[1], x[0]))
    beams = beam_search(model, tok, [prompt], 32, variable_length=True)[0]
    assert len(beams) == 30
    assert [b.token_ids for b in beams] == [s for s, _ in expected]
    assert max(abs(b.score - v) for b, (_, v) in zip(beams, expected)) < TOL
    decoded = {tok.decode_sid(b.token_ids) for b in beams} - {None}
    assert decoded == {(0,), (1,), (0, 0), (0, 1), (1, 0), (1, 1)}  # the well-formed ones, of both lengths
    # hallucination: a decoded SID the catalog lacks counts, as an ill-formed one does
    catalog = SidCatalog(np.array([[0, -1], [1, 1]]), (2, 2), np.zeros(2), split_hash="x")
    valid = [tok.decode_sid(b.token_ids) is not None and catalog.is_valid(tok.decode_sid(b.token_ids))
             for b in beams]  # fmt: skip
    assert sum(valid) == 2
    assert hallucination_rate([valid])[0] == pytest.approx(28 / 30)


def test_variable_decoding_of_a_fixed_length_catalog_appends_eos(tok) -> None:
    """``variable_length=True`` on a fixed-length catalog: the same SIDs, each + <eos>, scored with it."""
    fixed = SidCatalog(np.array([[1, 2, 0], [2, 0, 1], [3, 4, 1]]), SIZES, np.zeros(3), split_hash="f")
    assert not fixed.variable_length
    model = tiny_model(tok, seed=2)
    prompt = tok.encode_prompt("alpha", [])
    plain = beam_search(model, tok, [prompt], 4, catalog=fixed)[0]
    ended = beam_search(model, tok, [prompt], 4, catalog=fixed, variable_length=True)[0]
    assert all(len(b.token_ids) == 3 for b in plain)
    assert sorted(b.token_ids + (tok.eos_id,) for b in plain) == sorted(b.token_ids for b in ended)
    for b in ended:
        assert b.score == pytest.approx(exact_logprob(model, prompt, b.token_ids), abs=TOL)


def test_metrics_on_variable_length_sids_by_hand() -> None:
    """Items 0 (1,), 1 (1, 2), 2 (2, 0, 1), 3 (3, 4), 4 (1,) (collides with 0, more clicks: ranked first).
    Query A decodes (1, 2), (1,), (2, 0) [a prefix, no item], ill-formed; target item 0.
    Query B decodes (3,) [a prefix of (3, 4), no item], (3, 4); target item 3."""
    from benchmark.evaluation import EvalConfig, score_rankings

    cat = SidCatalog(padded([*SIDS, (1,)], 3), SIZES, np.array([2, 0, 0, 0, 5]), split_hash="m")
    assert cat.items_for((1,)) == [4, 0]
    beams = [[(1, 2), (1,), (2, 0), None], [(3,), (3, 4)]]
    config = EvalConfig(sid_ks=(1, 2), item_ks=(1, 3), beam_width=4)
    out = score_rankings(beams, [{0}, {3}], cat, config, targets=[0, 3])
    np.testing.assert_allclose(out["halluc@1"], [0.0, 1.0])  # B's rank-1 (3,) holds no item
    np.testing.assert_allclose(out["halluc"], [2 / 4, 1 / 2])
    # A: item ranking [1, 4, 0] -> item 0 at rank 3; SID ranking [(1, 2), (1,), (2, 0)] -> (1,) at rank 2
    np.testing.assert_allclose(out["target_hit@1"], [0.0, 1.0])
    np.testing.assert_allclose(out["target_hit@3"], [1.0, 1.0])
    np.testing.assert_allclose(out["target_mrr"], [1 / 3, 1.0])
    np.testing.assert_allclose(out["target_sid_hit@1"], [0.0, 0.0])
    np.testing.assert_allclose(out["target_sid_mrr"], [1 / 2, 1 / 2])  # B: (3,) takes SID rank 1


def test_rank_queries_end_to_end_with_the_trie(trained, tok, catalog) -> None:
    """The evaluation path (``benchmark.inference.rank_queries``, constrained): a variable-length catalog turns
    on <eos> decoding by itself, and every query's rank-1 SID is its item's, so target HR@1 is 1."""
    import pandas as pd

    from benchmark.evaluation import EvalConfig
    from benchmark.inference import rank_queries, score_frame

    model, _ = trained
    frame = pd.DataFrame({
        "query_id": [10, 11, 12, 13], "query": WORDS, "history": [[], [], [], []],
        "relevant": [[0], [1], [2], [3]], "target": [0, 1, 2, 3],
    })  # fmt: skip
    config = EvalConfig(sid_ks=(1, 4), item_ks=(1, 4), beam_width=4, constrained=True)
    rankings = rank_queries(model, tok, catalog, frame, config)
    assert [q[0] for q in rankings.sids] == SIDS
    assert rankings.to_frame().query("rank == 1")["sid"].tolist() == ["1", "1-2", "2-0-1", "3-4"]
    metrics = score_frame(rankings, frame, catalog, config)
    np.testing.assert_array_equal(metrics["target_hit@1"], [1.0] * 4)
    np.testing.assert_array_equal(metrics["halluc"], [0.0] * 4)


@pytest.mark.parametrize("decoding", ["beam", "sample"])
def test_rollouts_of_a_variable_length_catalog_end_where_the_model_ends(trained, tok, catalog, decoding) -> None:
    """GRPO-family rollouts on a variable-length catalog: codes + one <eos>, short SIDs sampled, rewards valid."""
    from benchmark.training.examples import Example
    from benchmark.training.rollouts import RolloutConfig, catalog_validity, roll_out, variable_length

    model, prompts = trained
    examples = [Example(prompt_ids=tuple(p), candidate_ids=(tuple(tok.target_ids(s)),), is_positive=(True,))
                for p, s in zip(prompts, SIDS)]
    assert variable_length(catalog, tok, examples) and variable_length(None, tok, examples)
    config = RolloutConfig(group_size=3, decoding=decoding, reward="truth")
    rolled = roll_out(model, tok, examples, config, catalog_validity(catalog, tok), seed=(0,), variable=True)
    lengths = []
    for ex, rewards, sid in zip(rolled.examples, rolled.rewards, SIDS, strict=True):
        for cand in ex.candidate_ids:
            assert cand[-1] == tok.eos_id and tok.eos_id not in cand[:-1] and 2 <= len(cand) <= tok.levels + 1
            lengths.append(len(cand) - 1)
        if decoding == "beam":  # the trained model's best beam is the item's own SID, scored as the ordered item
            assert ex.candidate_ids[1] == tuple(tok.target_ids(sid)) and rewards[1] == 1.0
        assert all(r >= 0.0 or r == config.invalid_reward for r in rewards)
    assert {1, 2} <= set(lengths)  # (1,) and (1, 2) / (3, 4) come back at their own lengths
    assert rolled.stats.tokens == sum(len(c) for ex in rolled.examples for c in ex.candidate_ids[1:])
    again = roll_out(model, tok, examples, config, catalog_validity(catalog, tok), seed=(0,), variable=True)
    assert again.examples == rolled.examples


def test_the_trainer_rolls_out_at_the_catalogs_lengths(trained, tok, catalog, tmp_path, monkeypatch) -> None:
    """One GRPO step of the one trainer given the variable-length catalog: its beam rollouts come back at the
    catalog's lengths (the trained model's best beam is each item's own SID, (1,) included), which fixed-length
    decoding cannot return."""
    import copy

    from benchmark.methods import get_method
    from benchmark.training import TrainConfig, rollouts, train
    from benchmark.training.examples import Example

    model, prompts = trained
    examples = [Example(prompt_ids=tuple(p), candidate_ids=(tuple(tok.target_ids(s)),), is_positive=(True,))
                for p, s in zip(prompts, SIDS)]
    seen = []
    real_roll_out = rollouts.roll_out
    monkeypatch.setattr(rollouts, "roll_out", lambda *a, **k: seen.append(real_roll_out(*a, **k)) or seen[-1])
    method = get_method("grpo")
    config = method.config_cls(rollouts=rollouts.RolloutConfig(group_size=2, decoding="beam"))
    train(method, config, copy.deepcopy(model), tok, examples,
          TrainConfig(steps=1, batch_size=4, lr=1e-6, warmup_steps=0, checkpoint_every=0, log_every=1, seed=0),
          tmp_path / "grpo", reference_model=copy.deepcopy(model), catalog=catalog)
    rolled = {ex.prompt_ids: ex.candidate_ids[1] for batch in seen for ex in batch.examples}
    assert {rolled[tuple(p)] for p in prompts} == {tuple(tok.target_ids(s)) for s in SIDS}
