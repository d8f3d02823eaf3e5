"""Packed candidates (paper section 2.1): layout golden values and exact parity with separate encoding."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import DataError
from benchmark.model import candidate_logps, pack_candidates, separate_candidate_logps

from .tiny import CODEBOOK, prompts, tiny_model, tiny_tokenizer

TOL = 1e-4


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope="module", params=["sdpa", "eager"])
def model(request, tok):
    return tiny_model(tok, attn=request.param)


def _candidates(tok):
    """Ragged candidate counts (3, 1, 2) for the three ragged prompts of ``tiny.prompts``."""
    return [
        [tok.target_ids((0, 1, 2)), tok.target_ids((5, 4, 3)), tok.target_ids((0, 1, 3))],
        [tok.target_ids((2, 2, 2))],
        [tok.target_ids((1, 0, 0)), tok.target_ids((1, 0, 1))],
    ]


def _one_by_one(model, prompt, cand):
    """Reference: the plain model on the single sequence prompt + candidate, default causal mask."""
    ids = torch.tensor([list(prompt) + list(cand)])
    out = model(ids, output_hidden_states=True)
    logps = torch.log_softmax(out.logits[0].float(), dim=-1)
    n = len(prompt)
    token = torch.stack([logps[n - 1 + s, cand[s]] for s in range(len(cand))])
    return token, out.hidden_states[-1][0, n + len(cand) - 1]


def test_layout_golden() -> None:
    packed = pack_candidates([[10, 11, 12], [20]], [[[1, 2], [3, 4]], [[5, 6]]], pad_id=0)
    assert packed.input_ids.tolist() == [[10, 11, 12, 1, 2, 3, 4], [20, 5, 6, 0, 0, 0, 0]]
    assert packed.position_ids.tolist() == [[0, 1, 2, 3, 4, 3, 4], [0, 1, 2, 0, 0, 0, 0]]
    assert packed.pred_index.tolist() == [[[2, 3], [2, 5]], [[0, 1], [0, 0]]]
    assert packed.target_ids.tolist() == [[[1, 2], [3, 4]], [[5, 6], [0, 0]]]
    assert packed.eos_index.tolist() == [[4, 6], [2, 0]]
    assert packed.cand_mask.tolist() == [[True, True], [True, False]]
    assert packed.token_mask.tolist() == [[[True, True], [True, True]], [[True, True], [False, False]]]
    assert packed.prompt_lens.tolist() == [3, 1]
    assert packed.n_tokens == 3 + 4 + 1 + 2 and packed.seq_len == 7
    attend = packed.attend[0].int().tolist()
    assert attend == [
        [1, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0],  # candidate 0 sees the prompt and itself
        [1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 0, 0, 1, 0],  # candidate 1 sees the prompt, not candidate 0
        [1, 1, 1, 0, 0, 1, 1],
    ]
    # padding rows attend to themselves only, so no softmax row is empty
    assert packed.attend[1, 3:].int().tolist() == [
        [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1]
    ]  # fmt: skip
    mask = packed.attention_mask(torch.float32)
    assert mask.shape == (2, 1, 7, 7)
    assert mask[0, 0, 5, 3].item() == torch.finfo(torch.float32).min and mask[0, 0, 5, 2].item() == 0.0


def test_packed_equals_separate_encoding(model, tok) -> None:
    ps, cs = prompts(tok), _candidates(tok)
    packed = pack_candidates(ps, cs, tok.pad_id)
    with torch.no_grad():
        logps, hidden = candidate_logps(model, packed, with_hidden=True)
        batched = separate_candidate_logps(model, ps, cs, tok.pad_id)
    assert logps.shape == (3, 3, len(CODEBOOK) + 1) and hidden.shape == (3, 3, model.config.hidden_size)
    for b, (prompt, cands) in enumerate(zip(ps, cs)):
        for c, cand in enumerate(cands):
            with torch.no_grad():
                ref_logps, ref_hidden = _one_by_one(model, prompt, cand)
            assert (logps[b, c] - ref_logps).abs().max().item() < TOL
            assert (hidden[b, c] - ref_hidden).abs().max().item() < TOL
        assert torch.all(logps[b, len(cands) :] == 0) and torch.all(hidden[b, len(cands) :] == 0)
    assert (batched - logps).abs().max().item() < TOL
    # the test can fail: the log-probs are far from uniform and differ across candidates
    assert logps[0].std().item() > 0.1


def test_parity_is_sensitive_to_the_mask(model, tok) -> None:
    """Negative control: a plain causal mask (candidates see earlier candidates) changes the log-probs."""
    ps, cs = prompts(tok), _candidates(tok)
    packed = pack_candidates(ps, cs, tok.pad_id)
    leaky = pack_candidates(ps, cs, tok.pad_id)
    real = leaky.input_ids != tok.pad_id
    leaky.attend = torch.ones_like(leaky.attend).tril() & real[:, None, :] & real[:, :, None]
    leaky.attend |= torch.eye(leaky.seq_len, dtype=torch.bool)
    with torch.no_grad():
        good = candidate_logps(model, packed, with_hidden=False)[0]
        bad = candidate_logps(model, leaky, with_hidden=False)[0]
    assert torch.equal(good[:, 0], bad[:, 0])  # the first candidate is unaffected...
    assert (good[0, 1:] - bad[0, 1:]).abs().max().item() > 1e-2  # ...the later ones are not


def test_gradients_match_separate_encoding(tok) -> None:
    model = tiny_model(tok)
    ps, cs = prompts(tok), _candidates(tok)
    weights = torch.linspace(0.5, 1.5, 3 * 3 * 4).reshape(3, 3, 4)

    def grads(fn):
        model.zero_grad()
        (fn() * weights).sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    packed = pack_candidates(ps, cs, tok.pad_id)
    g_packed = grads(lambda: candidate_logps(model, packed, with_hidden=False)[0])
    g_separate = grads(lambda: separate_candidate_logps(model, ps, cs, tok.pad_id))
    for a, b in zip(g_packed, g_separate):
        assert (a - b).abs().max().item() < 1e-3 * max(1.0, b.abs().max().item())


@pytest.fixture(scope="module")
def sdpa_model(tok):
    return tiny_model(tok)


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_ragged_parity_property(sdpa_model, tok, data: st.DataObject) -> None:
    model = sdpa_model
    n_batch = data.draw(st.integers(1, 3))
    code = st.tuples(*(st.integers(0, k - 1) for k in CODEBOOK))
    ps, cs = [], []
    for _ in range(n_batch):
        history = data.draw(st.lists(code, max_size=3))
        words = data.draw(st.sampled_from(["", "lab", "test tubes gloves", "unknown words"]))
        ps.append(tok.encode_prompt(words, history))
        # candidates of different lengths are allowed (a truncated SID, an extra token)
        cands = data.draw(st.lists(code, min_size=1, max_size=4))
        cs.append([tok.target_ids(c)[: data.draw(st.integers(1, 4))] for c in cands])
    packed = pack_candidates(ps, cs, tok.pad_id)
    with torch.no_grad():
        logps, hidden = candidate_logps(model, packed, with_hidden=True)
        for b, (prompt, cands) in enumerate(zip(ps, cs)):
            for c, cand in enumerate(cands):
                ref_logps, ref_hidden = _one_by_one(model, prompt, cand)
                assert (logps[b, c, : len(cand)] - ref_logps).abs().max().item() < TOL
                assert torch.all(logps[b, c, len(cand) :] == 0)
                assert (hidden[b, c] - ref_hidden).abs().max().item() < TOL


def test_input_errors() -> None:
    with pytest.raises(DataError, match="2 prompts but 1"):
        pack_candidates([[1], [2]], [[[3]]], pad_id=0)
    with pytest.raises(DataError, match="Prompt 0 is empty"):
        pack_candidates([[]], [[[3]]], pad_id=0)
    with pytest.raises(DataError, match="at least one non-empty candidate"):
        pack_candidates([[1]], [[]], pad_id=0)
    with pytest.raises(DataError, match="empty batch"):
        pack_candidates([], [], pad_id=0)
