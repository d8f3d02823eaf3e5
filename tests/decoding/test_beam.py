"""Beam search: parity with transformers ``generate``, brute-force golden values, token rules, ties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from benchmark.decoding import Beam, beam_search
from benchmark.decoding.beam import _top_k
from benchmark.errors import ArtifactMismatchError, ConfigError, DataError
from benchmark.model import SidTokenizer
from benchmark.sids.catalog import SidCatalog
from tests.model.tiny import CODEBOOK, prompts, tiny_model, tiny_tokenizer

TOL = 1e-4
LEVELS = len(CODEBOOK)


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    return tiny_model(tok)


def make_catalog(n_sids: int, seed: int = 0) -> SidCatalog:
    all_sids = np.array(list(itertools.product(*(range(k) for k in CODEBOOK))))
    rng = np.random.default_rng(seed)
    codes = all_sids[rng.choice(len(all_sids), size=n_sids, replace=False)]
    return SidCatalog(codes, CODEBOOK, np.zeros(n_sids), split_hash="test")


def hf_beams(model, tok, prompt_list, width, catalog=None):
    """``generate`` with the settings that make it the same search (see benchmark.commands.perf)."""
    longest = max(len(p) for p in prompt_list)
    ids = torch.tensor([[tok.pad_id] * (longest - len(p)) + p for p in prompt_list])
    mask = (ids != tok.pad_id).long()
    starts = [tok.level_token_ids(level)[0] for level in range(LEVELS)]

    def allowed(_, sequence):
        prefix = tuple(t - starts[i] for i, t in enumerate(sequence[longest:].tolist()))
        if any(not 0 <= c < CODEBOOK[i] for i, c in enumerate(prefix)):
            return [tok.pad_id]  # one of generate's -1e9 filler beams
        return [starts[len(prefix)] + c for c in catalog.allowed_next(prefix)] or [tok.pad_id]

    out = model.generate(
        input_ids=ids, attention_mask=mask, num_beams=width, num_return_sequences=width,
        max_new_tokens=LEVELS, do_sample=False, length_penalty=0.0, early_stopping=False,
        suppress_tokens=[tok.pad_id, tok.bos_id, tok.eos_id, tok.sep_id],
        prefix_allowed_tokens_fn=allowed if catalog is not None else None,
        pad_token_id=tok.pad_id, eos_token_id=tok.eos_id, bos_token_id=tok.bos_id,
        output_scores=True, return_dict_in_generate=True,
    )  # fmt: skip
    seqs = out.sequences[:, longest:].reshape(len(prompt_list), width, LEVELS).tolist()
    scores = out.sequences_scores.reshape(len(prompt_list), width).tolist()
    return [[(tuple(s), v) for s, v in zip(seqs[q], scores[q]) if v > -1e8] for q in range(len(prompt_list))]


def assert_same(ours: list[list[Beam]], theirs: list[list[tuple]]) -> None:
    assert len(ours) == len(theirs)
    for mine, hf in zip(ours, theirs):
        assert [b.token_ids for b in mine] == [s for s, _ in hf]
        assert max(abs(b.score - v) for b, (_, v) in zip(mine, hf)) < TOL


def exact_logprob(model, prompt, tokens) -> float:
    with torch.no_grad():
        logits = model(torch.tensor([list(prompt) + list(tokens)])).logits[0]
    logps = torch.log_softmax(logits.float(), dim=-1)
    return sum(logps[len(prompt) - 1 + s, t].item() for s, t in enumerate(tokens))


@pytest.mark.parametrize("width", [4, 16])
@pytest.mark.parametrize("shared_prefix", [True, False])
def test_unconstrained_matches_generate(model, tok, width, shared_prefix) -> None:
    ps = prompts(tok)  # ragged; batch_size 2 also splits them into a batch of 2 and a batch of 1
    ours = beam_search(model, tok, ps, width, batch_size=2, shared_prefix=shared_prefix)
    assert_same(ours, hf_beams(model, tok, ps, width))
    assert all(len(q) == width for q in ours)


@pytest.mark.parametrize("shared_prefix", [True, False])
def test_constrained_matches_generate(model, tok, shared_prefix) -> None:
    catalog = make_catalog(40)
    ps = prompts(tok)
    ours = beam_search(model, tok, ps, 16, catalog=catalog, batch_size=3, shared_prefix=shared_prefix)
    assert_same(ours, hf_beams(model, tok, ps, 16, catalog))
    for query in ours:
        assert len(query) == 16
        assert all(catalog.is_valid(tok.decode_sid(b.token_ids)) for b in query)


def test_wide_beam_matches_generate(model, tok) -> None:
    ps = prompts(tok)[:2]
    assert_same(beam_search(model, tok, ps, 32, batch_size=2), hf_beams(model, tok, ps, 32))


def test_small_catalog_returns_every_sid_with_exact_scores(model, tok) -> None:
    """Fewer valid SIDs (5) than beams (16): all of them come back, ranked by their exact log-probability
    (brute force: one full forward per SID); the -inf filler beams are dropped."""
    catalog = make_catalog(5, seed=3)
    ps = prompts(tok)
    ours = beam_search(model, tok, ps, 16, catalog=catalog)
    for prompt, query in zip(ps, ours):
        expected = sorted(
            ((tuple(tok.target_ids(sid)[:-1]), exact_logprob(model, prompt, tok.target_ids(sid)[:-1]))
             for sid in catalog.sids()),
            key=lambda x: -x[1],
        )  # fmt: skip
        assert [b.token_ids for b in query] == [s for s, _ in expected]
        assert max(abs(b.score - v) for b, (_, v) in zip(query, expected)) < TOL
    assert_same(ours, hf_beams(model, tok, ps, 16, catalog))


def test_exhaustive_width_is_exact_search() -> None:
    """Vocabulary of 5 allowed tokens (<unk> + 4 codes) and 2 steps: 25 sequences <= B = 32, so beam search
    must return every allowed sequence, ill-formed ones included, with its exact log-probability."""
    tok = SidTokenizer.build([], (2, 2))
    model = tiny_model(tok, seed=5)
    prompt = tok.encode_prompt("", [(0, 1), (1, 1)])
    allowed = [tok.unk_id, *tok.level_token_ids(0), *tok.level_token_ids(1)]
    expected = sorted(
        ((seq, exact_logprob(model, prompt, seq)) for seq in itertools.product(allowed, repeat=2)),
        key=lambda x: (-x[1], x[0]),
    )
    beams = beam_search(model, tok, [prompt], 32)[0]
    assert len(beams) == 25
    assert [b.token_ids for b in beams] == [s for s, _ in expected]
    assert max(abs(b.score - v) for b, (_, v) in zip(beams, expected)) < TOL
    assert sum(tok.decode_sid(b.token_ids) is None for b in beams) == 25 - 4  # only 4 well-formed SIDs


def test_unconstrained_rules_and_hallucinations(model, tok) -> None:
    ours = beam_search(model, tok, prompts(tok), 32)
    banned = {tok.pad_id, tok.bos_id, tok.eos_id, tok.sep_id}
    decoded = [tok.decode_sid(b.token_ids) for q in ours for b in q]
    assert all(len(b.token_ids) == LEVELS and not banned & set(b.token_ids) for q in ours for b in q)
    # ill-formed SIDs (words, <unk>, codes at the wrong level) can be generated: they are the hallucinations
    assert any(sid is None for sid in decoded)
    assert any(sid is not None for sid in decoded)


def test_deterministic_and_batch_invariant(model, tok) -> None:
    ps = prompts(tok)
    a = beam_search(model, tok, ps, 16, batch_size=3)
    b = beam_search(model, tok, ps, 16, batch_size=3)
    c = beam_search(model, tok, ps, 16, batch_size=1)
    d = beam_search(model, tok, ps, 16, batch_size=3, shared_prefix=False)
    assert a == b
    for other in (c, d):
        for x, y in zip(a, other):
            assert [beam.token_ids for beam in x] == [beam.token_ids for beam in y]
            assert max(abs(p.score - q.score) for p, q in zip(x, y)) < 1e-5
    assert not model.training


def test_top_k_tie_breaking_golden() -> None:
    inf = float("-inf")
    scores = torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0], [inf, 0.5, inf, 0.5, inf]])
    values, indices = _top_k(scores, 2)
    # row 0: three-way tie at 3.0 across the cut: lowest flat indices win, in index order
    assert indices[0].tolist() == [1, 2] and values[0].tolist() == [3.0, 3.0]
    assert indices[1].tolist() == [1, 3]
    values, indices = _top_k(scores, 4)
    assert indices[0].tolist() == [1, 2, 4, 3]
    assert values[1, :2].tolist() == [0.5, 0.5] and values[1, 2:].tolist() == [inf, inf]


def test_errors(model, tok) -> None:
    with pytest.raises(ConfigError, match="'beam_width'"):
        beam_search(model, tok, prompts(tok), 0)
    with pytest.raises(ConfigError, match="'batch_size'"):
        beam_search(model, tok, prompts(tok), 2, batch_size=0)
    with pytest.raises(DataError, match="Prompt 1 is empty"):
        beam_search(model, tok, [[1], []], 2)
    two_level = SidCatalog(np.array([[0, 1]]), (6, 5), np.zeros(1), split_hash="x")
    with pytest.raises(ArtifactMismatchError, match="2 levels"):
        beam_search(model, tok, prompts(tok), 2, catalog=two_level)
