"""The rl table (benchmark.tables.rl): one row per method and mixture weight, † against continued SFT, ‡ against
RAD-DPO, hallucination ranked lowest-first. Per-query values as in tests/tables/tiny_results.py: BASE + offset +
0.02 * seed, so a row's cell is 0.25 + offset + 0.01 ± 0.0141 and two rows differ significantly iff their offsets
do."""

from __future__ import annotations

import pytest

from benchmark.tables import render_all
from tests.tables.test_tables import md_rows
from tests.tables.tiny_results import write_rl


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> dict[tuple[str, str], list[str]]:
    root = tmp_path_factory.mktemp("results")
    write_rl(root)  # offsets: tests/tables/tiny_results.py RL_OFFSETS
    render_all(root / "smoke", root / "out")
    return md_rows((root / "out" / "rl.md").read_text())


def test_rows_in_order_with_mixtures_by_lambda(table) -> None:
    labels = [label for _, label in table]
    assert labels == ["SFT", "RAD-DPO", "GRPO", "NLL-GRPO (λ = 0.1)", "NLL-GRPO (λ = 1)", "EG-GRPO", "AdaGRPO"]


def test_marks_against_sft_and_raddpo(table) -> None:
    cells = {label: values for (_, label), values in table.items()}
    assert cells["SFT"][0] == "0.2600 ± 0.0141"  # the reference row carries no mark
    assert cells["RAD-DPO"][0] == "0.3600 ± 0.0141†"
    assert cells["GRPO"][0] == "0.2600 ± 0.0141‡"  # ties SFT: no †
    assert cells["NLL-GRPO (λ = 0.1)"][0] == "0.3600 ± 0.0141†"  # ties RAD-DPO: no ‡
    assert cells["NLL-GRPO (λ = 1)"][0] == "0.4100 ± 0.0141†‡"
    assert cells["AdaGRPO"][0] == "**0.5600 ± 0.0141**†‡"
    assert cells["EG-GRPO"][0] == "<u>0.4600 ± 0.0141</u>†‡"


def test_hallucination_is_ranked_lowest_first(table) -> None:
    cells = {label: values for (_, label), values in table.items()}
    assert cells["SFT"][3] == "**0.2600 ± 0.0141**" and cells["GRPO"][3] == "**0.2600 ± 0.0141**‡"
    assert cells["RAD-DPO"][4] == "<u>0.3600 ± 0.0141</u>†" and cells["AdaGRPO"][4] == "0.5600 ± 0.0141†‡"
