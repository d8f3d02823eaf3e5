"""Entry point of one rank in the 2-process test (spawned; must be importable, so not a test module)."""

from __future__ import annotations

import torch
import torch.distributed as dist


def run_rank(rank: int, world_size: int, init_file: str, sft_dir: str, out_dir: str, config: dict) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        from benchmark.methods import get_method
        from benchmark.model import SidTokenizer
        from benchmark.training import TrainConfig, build_examples, load_checkpoint, train
        from tests.training.conftest import CODEBOOK, WORDS, tiny_catalog, tiny_impressions

        tokenizer = SidTokenizer.build(WORDS, CODEBOOK)
        examples = build_examples(tiny_impressions(), tiny_catalog(), tokenizer, stage="preference")
        method = get_method("dpo")
        # rank 1 starts from other weights on purpose: the trainer must broadcast rank 0's before step 1
        model = load_checkpoint(sft_dir)
        if rank == 1:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(0.01)
        train(method, method.config_cls(), model, tokenizer, examples, TrainConfig(**config), out_dir,
              reference_model=load_checkpoint(sft_dir))
    finally:
        dist.destroy_process_group()
