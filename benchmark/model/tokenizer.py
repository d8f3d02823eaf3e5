"""The SID tokenizer: query words + one token per (SID level, code) + specials, on HF ``tokenizers``.

Vocabulary layout (ids are stable and documented so that ranges can be used directly):

    0..4                      <pad> <bos> <eos> <sep> <unk>
    5 ..                      <L0_0> .. <L0_{K0-1}> <L1_0> .. <L{L-1}_{K_{L-1}-1}>   (one token per level and code)
    after the code tokens     query words, lowercased, sorted

The word model is a ``WordLevel`` model behind a lowercase normaliser and the ``Whitespace`` pre-tokenizer
(``\\w+|[^\\w\\s]+``), so "Lab & Scientific" becomes ``lab``, ``&``, ``scientific``. Code tokens and specials are
registered as added tokens, so the text form (``"<bos> lab <L0_3>"``) also round-trips through the standard
``PreTrainedTokenizerFast`` API; the benchmark itself builds ids directly and never parses SID text.

Prompt (DESIGN.md section 5):  ``<bos> query words <sep> history SID tokens (oldest .. newest) <sep>``
Target:                        ``<L0_a> <L1_b> ... <L{L-1}_z> <eos>``

Variable-length SIDs (``SidCatalog.variable_length``): a SID of 1 .. L codes is spelled by its codes, code i
with the token of level i, in prompts and targets alike; the target's ``<eos>`` marks where a shorter SID ends.
The vocabulary does not change. ``decode_sid`` reads either exactly L codes (optionally + ``<eos>``, as a
fixed-length beam is returned) or 1 .. L codes + ``<eos>``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from benchmark.artifacts import atomic_write_json
from benchmark.config import check_int_list
from benchmark.errors import ArtifactMismatchError, DataError

PAD, BOS, EOS, SEP, UNK = "<pad>", "<bos>", "<eos>", "<sep>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, SEP, UNK)
META_FILE = "grbench_sid_tokenizer.json"
FORMAT_VERSION = 1


def code_token(level: int, code: int) -> str:
    """The text form of SID code ``code`` at ``level``: ``<L{level}_{code}>``."""
    return f"<L{level}_{code}>"


def _word_pipeline() -> tuple[normalizers.Normalizer, pre_tokenizers.PreTokenizer]:
    return normalizers.Lowercase(), pre_tokenizers.Whitespace()


class SidTokenizer:
    """Maps queries, history SIDs and target SIDs to token ids; wraps a ``PreTrainedTokenizerFast``.

    Build with :meth:`build` (or load with :meth:`from_pretrained`); do not call the constructor directly.
    ``metadata`` is a free JSON mapping saved beside the vocabulary (e.g. the split and catalog hashes the
    tokenizer was built for) so a checkpoint can be checked against the data it is evaluated on.
    """

    def __init__(
        self,
        fast: PreTrainedTokenizerFast,
        codebook_sizes: Sequence[int],
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.fast = fast
        self.codebook_sizes: tuple[int, ...] = tuple(int(k) for k in codebook_sizes)
        self.metadata: dict[str, Any] = dict(metadata or {})
        vocab = fast.get_vocab()
        for name in SPECIAL_TOKENS:
            if name not in vocab:
                raise ArtifactMismatchError(f"Tokenizer vocabulary lacks the special token {name!r}.")
        self.pad_id, self.bos_id, self.eos_id, self.sep_id, self.unk_id = (vocab[s] for s in SPECIAL_TOKENS)
        # First id of each level's code block; codes of a level are contiguous (see module docstring).
        self._level_start: list[int] = []
        for level, size in enumerate(self.codebook_sizes):
            first, last = code_token(level, 0), code_token(level, size - 1)
            if first not in vocab or last not in vocab or vocab[last] - vocab[first] != size - 1:
                raise ArtifactMismatchError(
                    f"Tokenizer vocabulary does not hold the {size} code tokens of SID level {level} "
                    f"contiguously; it was built for other codebook sizes than {list(self.codebook_sizes)}."
                )
            self._level_start.append(vocab[first])
        self._vocab = vocab
        self._normalizer, self._pre_tokenizer = _word_pipeline()

    # ------------------------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        query_texts: Iterable[str],
        codebook_sizes: Sequence[int],
        metadata: Mapping[str, Any] | None = None,
    ) -> SidTokenizer:
        """Vocabulary = specials + one token per (level, code) + every word of ``query_texts`` (lowercased)."""
        codebook_sizes = tuple(codebook_sizes)
        check_int_list("SidTokenizer", "codebook_sizes", list(codebook_sizes), low=1)
        normalizer, pre_tokenizer = _word_pipeline()
        words: set[str] = set()
        for text in query_texts:
            words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(str(text))))
        codes = [code_token(level, c) for level, size in enumerate(codebook_sizes) for c in range(size)]
        reserved = set(SPECIAL_TOKENS) | set(codes)
        # Words never collide with reserved names: the pre-tokenizer splits "<" and ">" off any word.
        ordered = list(SPECIAL_TOKENS) + codes + sorted(words - reserved)
        vocab = {token: i for i, token in enumerate(ordered)}

        backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
        backend.normalizer = normalizer
        backend.pre_tokenizer = pre_tokenizer
        backend.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIAL_TOKENS])
        backend.add_tokens([AddedToken(s, special=False, normalized=False) for s in codes])
        fast = PreTrainedTokenizerFast(
            tokenizer_object=backend,
            pad_token=PAD,
            bos_token=BOS,
            eos_token=EOS,
            sep_token=SEP,
            unk_token=UNK,
        )
        return cls(fast, codebook_sizes, metadata)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``tokenizer.json`` + ``tokenizer_config.json`` (HF format) and the codebook sizes, atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # HF writes several files itself; write them into a private folder on the same file system and
        # rename each one over its target, so a reader never sees a half-written file.
        with tempfile.TemporaryDirectory(prefix=".tokenizer.", dir=directory) as tmp:
            written = self.fast.save_pretrained(tmp)
            for path in written:
                path = Path(path)
                if path.is_file():
                    os.replace(path, directory / path.name)
        atomic_write_json(
            directory / META_FILE,
            {
                "format_version": FORMAT_VERSION,
                "codebook_sizes": list(self.codebook_sizes),
                "metadata": self.metadata,
            },
        )
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> SidTokenizer:
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise DataError(
                f"{directory} holds no SID tokenizer ({META_FILE} is missing); save one with "
                f"SidTokenizer.save_pretrained."
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactMismatchError(
                f"{meta_path} has format version {meta.get('format_version')!r}; this code reads "
                f"version {FORMAT_VERSION}."
            )
        fast = PreTrainedTokenizerFast.from_pretrained(str(directory))
        return cls(fast, meta["codebook_sizes"], meta.get("metadata"))

    # ------------------------------------------------------------------------------------------- encoding
    @property
    def levels(self) -> int:
        return len(self.codebook_sizes)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def special_ids(self) -> tuple[int, ...]:
        """(pad, bos, eos, sep, unk) ids."""
        return self.pad_id, self.bos_id, self.eos_id, self.sep_id, self.unk_id

    def query_ids(self, query: str) -> list[int]:
        """Word ids of ``query`` (lowercased, whitespace/punctuation split); unknown words map to ``<unk>``."""
        pieces = self._pre_tokenizer.pre_tokenize_str(self._normalizer.normalize_str(str(query)))
        return [self._vocab.get(word, self.unk_id) for word, _ in pieces]

    def code_token_id(self, level: int, code: int) -> int:
        if not 0 <= level < self.levels:
            raise DataError(f"SID level {level} is out of range: this tokenizer has {self.levels} levels.")
        if not 0 <= code < self.codebook_sizes[level]:
            raise DataError(
                f"SID code {code} at level {level} is out of range [0, {self.codebook_sizes[level]})."
            )
        return self._level_start[level] + int(code)

    def level_token_ids(self, level: int) -> list[int]:
        """Token ids of every code of ``level``, in code order."""
        if not 0 <= level < self.levels:
            raise DataError(f"SID level {level} is out of range: this tokenizer has {self.levels} levels.")
        start = self._level_start[level]
        return list(range(start, start + self.codebook_sizes[level]))

    def sid_token_ids(self, sid: Sequence[int]) -> list[int]:
        """The code tokens of ``sid`` (1 .. L codes; no EOS)."""
        if not 1 <= len(sid) <= self.levels:
            raise DataError(
                f"SID {tuple(sid)} has {len(sid)} codes; this tokenizer expects 1 to {self.levels}."
            )
        return [self.code_token_id(level, int(code)) for level, code in enumerate(sid)]

    def encode_prompt(self, query: str, history_sids: Sequence[Sequence[int]]) -> list[int]:
        """``<bos> query words <sep> history SID tokens (oldest .. newest, as given) <sep>``."""
        ids = [self.bos_id, *self.query_ids(query), self.sep_id]
        for sid in history_sids:
            ids.extend(self.sid_token_ids(sid))
        ids.append(self.sep_id)
        return ids

    def target_ids(self, sid: Sequence[int]) -> list[int]:
        """The SID's code tokens + ``<eos>``: what the model is trained to generate."""
        return [*self.sid_token_ids(sid), self.eos_id]

    def decode_sid(self, ids: Sequence[int]) -> tuple[int, ...] | None:
        """The SID spelled by ``ids``, or None when ill-formed (a hallucination): ``ids`` must be exactly L
        codes, or 1 .. L codes followed by ``<eos>``, each a code token of its position's level. Whether the
        SID holds items is the catalog's business (a decoded SID the catalog lacks is hallucinated too)."""
        ids = [int(i) for i in ids]
        if ids and ids[-1] == self.eos_id:
            ids = ids[:-1]
            if not 1 <= len(ids) <= self.levels:
                return None
        elif len(ids) != self.levels:
            return None
        sid = []
        for level, token in enumerate(ids):
            code = token - self._level_start[level]
            if not 0 <= code < self.codebook_sizes[level]:
                return None
            sid.append(code)
        return tuple(sid)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return self.fast.convert_ids_to_tokens([int(i) for i in ids])

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return (
            f"SidTokenizer(vocab_size={self.vocab_size}, codebook_sizes={list(self.codebook_sizes)}, "
            f"words={self.vocab_size - len(SPECIAL_TOKENS) - sum(self.codebook_sizes)})"
        )
