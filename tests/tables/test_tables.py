"""The paper's tables rendered from a hand-made results directory with known per-query values."""

from __future__ import annotations

import argparse
import csv
import io
import logging
import re
import shutil

import pytest

from benchmark.commands import tables as tables_command
from benchmark.errors import BenchmarkError, DataError
from benchmark.results import load_runs
from benchmark.stats import seed_summary
from benchmark.tables import render_all, table_names
from benchmark.tables.collect import ExperimentRuns
from tests.results.factory import make_record, store_run
from tests.tables.tiny_results import per_query, write_all, write_table1


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    profile = write_all(root)
    out = root / "out"
    summary = render_all(profile, out)
    return profile, out, summary


def md_rows(text: str) -> dict[tuple[str, str], list[str]]:
    """(section, label) -> cells of a rendered Markdown table."""
    rows = {}
    section = ""
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| Method") or line.startswith("| Preference"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if cells[0].startswith("*") and not any(cells[1:]):
            section = cells[0].strip("*")
            continue
        rows[(section, cells[0])] = cells[1:]
    return rows


def read(out, name: str) -> str:
    return (out / name).read_text(encoding="utf-8")


def test_table1_golden_cells(rendered) -> None:
    _, out, _ = rendered
    rows = md_rows(read(out, "table1.md"))
    halluc, r10 = 0, 1
    # lower is better for hallucination; SFT and DPO tie as printed: both bold, SimPO second
    assert rows[("", "SFT")][halluc] == "**0.2600 ± 0.0141**"
    assert rows[("", "DPO")][halluc] == "**0.2600 ± 0.0141**"
    assert rows[("", "SimPO")][halluc] == "<u>0.3600 ± 0.0141</u>†"
    # recall: RAD-DPO best with both marks, ORPO second; DPO equals SFT on every query: no mark
    assert rows[("", "RAD-DPO")][r10] == "**0.5600 ± 0.0141**†‡"
    assert rows[("", "ORPO")][r10] == "<u>0.4600 ± 0.0141</u>†"
    assert rows[("", "DPO")][r10] == "0.2600 ± 0.0141"
    assert rows[("", "SFT")][r10] == "0.2600 ± 0.0141"
    # ablations are not ranked (w/o TLGD is the highest number, unemphasised); w/o RDRW equals ORPO: no ‡
    assert rows[("Ablation studies", "w/o TLGD")][r10] == "0.6100 ± 0.0141†‡"
    assert rows[("Ablation studies", "w/o RDRW")][r10] == "0.4600 ± 0.0141†"
    # one seed: no spread printed
    assert rows[("Ablation studies", "w/o multi-label SFT")][r10] == "0.5000†‡"
    paper = "Paper, Table 1 (reported on internal JD.com data, Qwen 1.7B; levels not comparable)"
    assert rows[(paper, "SFT Baseline")][:2] == ["0.0575", "0.2958"]
    assert rows[(paper, "w/o Multi-label SFT")][-1] == "0.2928"
    text = read(out, "table1.md")
    assert "†: differs from SFT; ‡: differs from the best of DPO, SimPO and ORPO" in text
    assert "data protocol 1" in text  # runs without a protocol field were computed under protocol 1
    assert "Holm-adjusted over all comparisons of this table" in text
    # the single-seed ablation is named in the notes; rows with every seed are not
    assert "Unequal seeds, compare with care: raddpo-no-mlsft (seeds 0)." in text
    assert read(out, "table2.md").count("Unequal seeds") == 0


def test_table1_csv_pvalues(rendered) -> None:
    _, out, _ = rendered
    lines = list(csv.DictReader(io.StringIO(read(out, "table1.csv"))))
    cell = {(r["row_key"], r["column_key"]): r for r in lines}
    assert cell[("dpo", "sid_mrr")]["p_adjusted"] == "†=1"
    p = dict(item.split("=") for item in cell[("raddpo", "sid_mrr")]["p_adjusted"].split(";"))
    assert set(p) == {"†", "‡"} and all(float(v) < 0.05 for v in p.values())
    assert cell[("raddpo-no-mlsft", "sid_mrr")]["n_seeds"] == "1"
    assert cell[("paper:sft", "halluc")]["value"] == "0.0575"
    assert cell[("paper:sft", "halluc")]["n_seeds"] == "0"


def test_every_number_traces_to_run_json(rendered) -> None:
    profile, out, _ = rendered
    experiment = ExperimentRuns("table1", load_runs(profile, "table1"))
    for r in csv.DictReader(io.StringIO(read(out, "table1.csv"))):
        if r["row_key"].startswith("paper:"):
            continue
        group = experiment.get(r["row_key"])
        summary = seed_summary([run.result.metrics[r["column_key"]] for run in group.runs])
        assert r["value"] == f"{summary.mean:.4f}"
        assert r["std"] == ("" if summary.n_seeds == 1 else f"{summary.std:.4f}")


def test_table2_with_paper_columns(rendered) -> None:
    _, out, _ = rendered
    rows = md_rows(read(out, "table2.md"))
    assert rows[("Size xs (paper: 0.6B)", "SFT")] == ["0.2600 ± 0.0141"] * 4 + ["0.3482", "0.5783", "0.6343", "0.2672"]
    assert rows[("Size xs (paper: 0.6B)", "RAD-DPO")][0] == "**0.4600 ± 0.0141**†‡"
    assert rows[("Size xs (paper: 0.6B)", "DPO")][0] == "<u>0.3100 ± 0.0141</u>†"
    # size s: DPO equals SFT (no mark), both second
    assert rows[("Size s (paper: 1.7B)", "DPO")][0] == "<u>0.3600 ± 0.0141</u>"
    assert rows[("Size s (paper: 1.7B)", "DPO")][4] == "0.3589"


def test_fig2_relative_improvements_and_png(rendered) -> None:
    _, out, _ = rendered
    rows = md_rows(read(out, "fig2.md"))
    # each row names the preference examples seen (the runs' budgets) beside the fraction
    assert rows[("", "50% (40 examples)")] == ["+20.00†"] * 4 + ["-10.00†"] * 4
    assert rows[("", "100% (40 examples)")] == ["+40.00†"] * 4 + ["-10.00†"] * 4
    assert "prints no values" in read(out, "fig2.md")
    png = (out / "fig2.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert b"Software" not in png  # no version stamp in the bytes


def test_noise_gap_rows(rendered) -> None:
    _, out, _ = rendered
    rows = md_rows(read(out, "noise.md"))
    low, high = "η = 0.5, noise floor = 0.02", "η = 2, noise floor = 0.2"
    assert rows[(low, "Δ RAD-DPO − best baseline")] == ["+0.1000‡"] * 3
    assert rows[(high, "Δ RAD-DPO − best baseline")] == ["0.0000"] * 3
    assert rows[(high, "RAD-DPO")][0] == "**0.3600 ± 0.0141**"  # ties SFT, no mark
    assert rows[(high, "DPO")][0] == "0.2600 ± 0.0141†"
    assert "η = 2, noise floor = 0.2: Category level (SID) R@64: SFT" in read(out, "noise.md")


def test_games_has_no_paper_block(rendered) -> None:
    _, out, _ = rendered
    text = read(out, "games.md")
    assert "synthetic-games" in text and "Paper" not in text.split("\n- ")[0]
    assert "The paper reports no results on this dataset." in text


def test_markdown_latex_csv_agree(rendered) -> None:
    _, out, summary = rendered
    for name in [r.name for r in summary.rendered]:
        md = md_rows(read(out, f"{name}.md"))
        tex_rows = [line for line in read(out, f"{name}.tex").splitlines()
                    if line.endswith(" \\\\") and "&" in line and "multicolumn" not in line][1:]  # skip header
        records = list(csv.DictReader(io.StringIO(read(out, f"{name}.csv"))))
        keys = list(dict.fromkeys((r["section"], r["row"]) for r in records))
        assert keys == list(md), name
        assert len(tex_rows) == len(keys), name
        for key, tex in zip(keys, tex_rows):
            cells = [r for r in records if (r["section"], r["row"]) == key]
            tex_cells = [c.strip() for c in tex[: -len(" \\\\")].split(" & ")]
            for record, md_cell, tex_cell in zip(cells, md[key], tex_cells[1:]):
                text, marks, emphasis = record["text"], record["marks"], record["emphasis"]
                wrap = {"best": "**{}**", "second": "<u>{}</u>"}.get(emphasis, "{}")
                assert md_cell == wrap.format(text) + marks, (name, key)
                tex_text = "--" if text == "–" else text.replace(" ± ", " $\\pm$ ")
                tex_wrap = {"best": "\\textbf{{{}}}", "second": "\\underline{{{}}}"}.get(emphasis, "{}")
                tex_marks = "" if not marks else "$^{" + marks.replace("†", "\\dagger").replace("‡", "\\ddagger") + "}$"
                assert tex_cell == tex_wrap.format(tex_text) + tex_marks, (name, key)
                if record["value"]:
                    assert text.startswith(record["value"]) and (not record["std"] or record["std"] in text)


def test_rerun_is_byte_identical(rendered, tmp_path) -> None:
    profile, out, _ = rendered
    again = tmp_path / "again"
    render_all(profile, again)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert "fig2.png" in names and "README.md" in names
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_index_lists_tables_and_run_counts(rendered) -> None:
    _, out, summary = rendered
    index = read(out, "README.md")
    # every experiment the fixture has runs of (the sids table has its own tests: tests/tables/test_sids_table.py)
    assert [r.name for r in summary.rendered] == [n for n in table_names() if n != "sids"]
    assert summary.n_runs == 15 + 12 + 6 + 20 + 15 + 14
    assert "from the 82 finished runs in `smoke/runs/`" in index
    assert "| [md](table1.md), [tex](table1.tex), [csv](table1.csv) | 15 |" in index
    assert "[png](fig2.png) | 6 |" in index
    assert "![Figure 2](fig2.png)" in index


def test_missing_experiments_are_skipped_with_a_note(tmp_path, caplog) -> None:
    write_table1(tmp_path)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "fig2.png").write_bytes(b"stale")  # from an earlier render whose runs are gone
    with caplog.at_level(logging.INFO, logger="benchmark.tables"):
        summary = render_all(tmp_path / "smoke", out)
    assert [r.name for r in summary.rendered] == ["table1"]
    assert [name for name, _ in summary.skipped] == ["table2", "fig2", "noise", "games", "rl", "sids"]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "table1.csv", "table1.md", "table1.tex"]
    assert "skipping table2: no runs of experiment 'table2'" in caplog.text
    assert "Not rendered: table2 (no runs of experiment 'table2'); fig2" in read(out, "README.md")


def test_empty_results_render_nothing(tmp_path, caplog) -> None:
    (tmp_path / "smoke" / "runs").mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        summary = render_all(tmp_path / "smoke", tmp_path / "out")
    assert summary.rendered == () and summary.n_runs == 0
    assert not (tmp_path / "out").exists()
    assert "nothing rendered" in caplog.text


def test_duplicate_seed_and_mixed_datasets_are_errors(tmp_path) -> None:
    store_run(tmp_path, make_record(method="sft", seed=0), per_query(0.0, 0))
    store_run(tmp_path, make_record(method="sft", seed=0, run_id="table1-sft-seed0-stale00000"), per_query(0.1, 0))
    with pytest.raises(DataError, match="two runs of sft seed 0"):
        render_all(tmp_path / "smoke", tmp_path / "out")
    shutil.rmtree(tmp_path / "smoke")
    store_run(tmp_path, make_record(method="sft", dataset="a"), per_query(0.0, 0))
    store_run(tmp_path, make_record(method="dpo", dataset="b"), per_query(0.0, 0))
    with pytest.raises(DataError, match=r"mixes dataset values \['a', 'b'\]"):
        render_all(tmp_path / "smoke", tmp_path / "out")


def grbench_tables(argv: list[str]) -> int:
    """``grbench tables ARGV`` through the command module's own parser and the CLI's error handling.

    (benchmark.cli.main builds every command group's parser, importing torch & co: seconds we skip here.)
    """
    parser = argparse.ArgumentParser(prog="grbench")
    tables_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tables", *argv])
    try:
        return args.func(args)
    except BenchmarkError:
        return 2


def test_cli_renders_each_profile(rendered, tmp_path, capsys) -> None:
    profile, out, _ = rendered
    root = tmp_path / "results"
    shutil.copytree(profile, root / "smoke")
    (root / "paper").mkdir()  # not a profile: no runs/
    assert grbench_tables(["--results", str(root)]) == 0
    written = root / "smoke" / "tables"
    for name in ("table1.md", "fig2.png", "README.md"):
        assert (written / name).read_bytes() == (out / name).read_bytes()
    assert "82 runs" in capsys.readouterr().out
    assert grbench_tables(["--results", str(tmp_path / "nothing-here")]) == 2
    (tmp_path / "empty").mkdir()
    assert grbench_tables(["--results", str(tmp_path / "empty")]) == 0
    assert "nothing rendered" in capsys.readouterr().out


def test_run_ids_in_tables_never_leak_paths(rendered) -> None:
    _, out, _ = rendered
    for path in out.iterdir():
        if path.suffix != ".png":
            assert not re.search(r"/tmp|pytest-of", path.read_text(encoding="utf-8")), path.name


def test_runs_of_one_table_under_different_package_versions_get_a_footnote(tmp_path) -> None:
    from tests.results.factory import PACKAGES

    for method, offset in (("sft", 0.0), ("dpo", 0.1)):
        for seed in (0, 1):
            packages = {**PACKAGES, "transformers": "5.24.0" if (method, seed) == ("dpo", 1) else "5.23.0"}
            store_run(tmp_path / "mixed", make_record(method=method, seed=seed, packages=packages),
                      per_query(offset, seed))
    render_all(tmp_path / "mixed" / "smoke", tmp_path / "out")
    notes = read(tmp_path / "out", "table1.md")
    assert ("Runs computed with different package versions, compare with care: "
            "transformers 5.23.0 (3 runs), 5.24.0 (1 runs).") in notes
    write_table1(tmp_path / "same")
    render_all(tmp_path / "same" / "smoke", tmp_path / "same-out")
    assert "different package versions" not in read(tmp_path / "same-out", "table1.md")


def test_cells_from_different_numerical_environments_are_named_in_a_footnote(tmp_path) -> None:
    base = {"cpu_model": "AMD EPYC", "cpu_flags": ["avx2", "avx512f"], "threads": 2,
            "torch_cpu_capability": "AVX512", "blas": "mkl", "onednn": "v3.12.0",
            "deterministic_algorithms": False, "settings": {}}
    for method, offset in (("sft", 0.0), ("dpo", 0.1)):
        environment = {**base, "threads": 1} if method == "dpo" else base
        store_run(tmp_path / "mixed", make_record(method=method, environment=environment), per_query(offset, 0))
    render_all(tmp_path / "mixed" / "smoke", tmp_path / "out")
    notes = read(tmp_path / "out", "table1.md")
    assert "Runs computed in different numerical environments" in notes
    assert "AVX512, 1 thread(s)] dpo seed 0;" in notes and "AVX512, 2 thread(s)] sft seed 0" in notes
    assert "different package versions" not in notes  # the versions agree: only the environment differs
    write_table1(tmp_path / "same")
    render_all(tmp_path / "same" / "smoke", tmp_path / "same-out")
    assert "numerical environments" not in read(tmp_path / "same-out", "table1.md")
