"""SidTokenizer: vocabulary layout, prompt/target encoding, SID decoding, save/load."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import ArtifactMismatchError, ConfigError, DataError
from benchmark.model import SidTokenizer
from benchmark.model.tokenizer import META_FILE

QUERIES = ["Lab & Scientific", "test tubes", "Lab Tubes"]
SIZES = (3, 2)


@pytest.fixture()
def tok() -> SidTokenizer:
    return SidTokenizer.build(QUERIES, SIZES)


def test_vocabulary_layout_golden(tok: SidTokenizer) -> None:
    # specials, then codes level by level, then the sorted lowercased words
    expected = [
        "<pad>", "<bos>", "<eos>", "<sep>", "<unk>",
        "<L0_0>", "<L0_1>", "<L0_2>", "<L1_0>", "<L1_1>",
        "&", "lab", "scientific", "test", "tubes",
    ]  # fmt: skip
    assert tok.convert_ids_to_tokens(range(len(expected))) == expected
    assert tok.vocab_size == len(expected) == len(tok)
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.sep_id, tok.unk_id) == (0, 1, 2, 3, 4)
    assert tok.level_token_ids(0) == [5, 6, 7]
    assert tok.level_token_ids(1) == [8, 9]
    assert tok.code_token_id(1, 1) == 9
    assert tok.levels == 2


def test_encode_prompt_and_target_golden(tok: SidTokenizer) -> None:
    # <bos> lab tubes <unk> <sep> <L0_2><L1_0> <L0_0><L1_1> <sep>; history oldest -> newest as given
    assert tok.encode_prompt("LAB tubes beakers", [(2, 0), (0, 1)]) == [1, 11, 14, 4, 3, 7, 8, 5, 9, 3]
    assert tok.encode_prompt("", []) == [1, 3, 3]
    assert tok.target_ids((1, 0)) == [6, 8, 2]
    assert tok.query_ids("Lab&Scientific!") == [11, 10, 12, 4]


def test_decode_sid(tok: SidTokenizer) -> None:
    assert tok.decode_sid([7, 9]) == (2, 1)
    assert tok.decode_sid([7, 9, tok.eos_id]) == (2, 1)
    assert tok.decode_sid([9, 7]) is None  # codes at the wrong levels
    assert tok.decode_sid([7, 11]) is None  # a query word: a hallucination
    assert tok.decode_sid([7, tok.unk_id]) is None
    assert tok.decode_sid([7]) is None
    assert tok.decode_sid([7, 9, 9]) is None
    # Variable-length SIDs: 1 .. L codes + <eos>; without <eos> exactly L codes, as before.
    assert tok.decode_sid([7, tok.eos_id]) == (2,)
    assert tok.decode_sid([tok.eos_id]) is None  # no code: not a SID
    assert tok.decode_sid([7, 9, 9, tok.eos_id]) is None  # longer than L
    assert tok.decode_sid([7, tok.eos_id, 9]) is None  # <eos> inside
    assert tok.decode_sid([9, tok.eos_id]) is None  # a level-1 code at level 0


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    data=st.data(),
)
def test_target_roundtrip_property(sizes: list[int], data: st.DataObject) -> None:
    tok = SidTokenizer.build(["a b"], sizes)
    sid = tuple(data.draw(st.integers(0, k - 1)) for k in sizes)
    ids = tok.target_ids(sid)
    assert len(ids) == len(sizes) + 1 and ids[-1] == tok.eos_id
    assert tok.decode_sid(ids) == sid
    assert tok.decode_sid(ids[:-1]) == sid


def test_out_of_range_codes_and_lengths_are_errors(tok: SidTokenizer) -> None:
    with pytest.raises(DataError, match="level 0 is out of range"):
        tok.target_ids((3, 0))
    with pytest.raises(DataError, match="has 3 codes"):
        tok.target_ids((0, 0, 0))
    with pytest.raises(DataError, match="SID level 2"):
        tok.level_token_ids(2)
    with pytest.raises(ConfigError, match="codebook_sizes"):
        SidTokenizer.build(["a"], [])


def test_hf_text_interface_roundtrips(tok: SidTokenizer) -> None:
    ids = tok.fast("<bos> Lab tubes <sep> <L0_2> <L1_1> <sep>", add_special_tokens=False)["input_ids"]
    assert ids == [1, 11, 14, 3, 7, 9, 3]


def test_save_and_load_roundtrip(tok: SidTokenizer, tmp_path) -> None:
    tok.metadata["split_hash"] = "abc"
    tok.save_pretrained(tmp_path / "tok")
    files = sorted(p.name for p in (tmp_path / "tok").iterdir())
    assert files == sorted(["tokenizer.json", "tokenizer_config.json", META_FILE])
    loaded = SidTokenizer.from_pretrained(tmp_path / "tok")
    assert loaded.codebook_sizes == SIZES
    assert loaded.metadata == {"split_hash": "abc"}
    assert loaded.vocab_size == tok.vocab_size
    prompt = ("Lab & tubes", [(2, 1), (0, 0)])
    assert loaded.encode_prompt(*prompt) == tok.encode_prompt(*prompt)
    assert loaded.convert_ids_to_tokens(range(tok.vocab_size)) == tok.convert_ids_to_tokens(
        range(tok.vocab_size)
    )


def test_load_errors(tok: SidTokenizer, tmp_path) -> None:
    with pytest.raises(DataError, match="holds no SID tokenizer"):
        SidTokenizer.from_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    meta["codebook_sizes"] = [4, 2]  # the vocabulary holds only 3 level-0 codes
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactMismatchError, match="other codebook sizes"):
        SidTokenizer.from_pretrained(tmp_path)


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4), data=st.data())
def test_variable_length_target_roundtrip_property(sizes: list[int], data: st.DataObject) -> None:
    """A SID of 1 .. L codes: target = its code tokens + <eos>, and it decodes back; without the <eos> only a
    full-length SID decodes (a shorter one is ill-formed)."""
    tok = SidTokenizer.build(["a b"], sizes)
    length = data.draw(st.integers(1, len(sizes)))
    sid = tuple(data.draw(st.integers(0, k - 1)) for k in sizes[:length])
    ids = tok.target_ids(sid)
    assert len(ids) == length + 1 and ids[-1] == tok.eos_id
    assert ids[:-1] == [tok.level_token_ids(level)[code] for level, code in enumerate(sid)]
    assert tok.decode_sid(ids) == sid
    assert tok.decode_sid(ids[:-1]) == (sid if length == len(sizes) else None)
    assert tok.encode_prompt("a", [sid]) == [tok.bos_id, *tok.query_ids("a"), tok.sep_id, *ids[:-1], tok.sep_id]


def test_sid_length_errors(tok: SidTokenizer) -> None:
    with pytest.raises(DataError, match="expects 1 to 2"):
        tok.target_ids(())
    assert tok.target_ids((1,)) == [6, 2]  # <L0_1> <eos>
