"""One page per method (its runs in every profile) and one per accepted submission.

A method page holds, per profile, the per-seed numbers of every run, then a card per run: what was run
(experiment, seed, variant, data protocol), provenance (code revision, packages, hardware), the budget
(steps, examples, tokens, FLOPs, seconds), a training curve and tuning record where the run stored one, the
resolved configuration, and a link to every stored file behind it (copied into the site under ``files/``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from benchmark.metrics.registry import metric_sort_key
from benchmark.results import StoredRun
from benchmark.site import escape
from benchmark.site.collect import Site, Submission, track_of
from benchmark.site.families import FAMILIES, family_of
from benchmark.site.layout import definitions, fmt, page, table
from benchmark.site.svg import line_chart

TUNING_DIR = "tuning"            # <profile>/tuning/<dataset>.json (benchmark.tuning.study)
BUDGET_FIELDS = ("optimizer_steps", "batch_size", "examples_seen", "tokens", "flops", "train_seconds", "eval_seconds")


def run_files(run: StoredRun) -> list[Path]:
    """The regular files stored in a run directory (never links), sorted by name."""
    return sorted(p for p in run.path.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith("."))


def methods_by_name(site: Site) -> dict[str, list[StoredRun]]:
    out: dict[str, list[StoredRun]] = {}
    for profile in site.profiles:
        for run in site.runs[profile]:
            out.setdefault(run.result.method, []).append(run)
    return dict(sorted(out.items()))


def render_index(site: Site) -> str:
    rows = []
    for method, runs in methods_by_name(site).items():
        rows.append([f'<a href="{escape.path_url("methods", method + ".html")}">{escape.text(method)}</a>',
                     escape.text(FAMILIES[family_of(method)]), str(len(runs)),
                     escape.text(", ".join(sorted({r.path.parent.parent.name for r in runs})))])
    body = "<p>Every method with stored runs; a page lists its runs in every profile.</p>\n"
    body += table(["Method", "Family", "Runs", "Profiles"], rows, numeric=[False, False, True, False])
    if site.submissions:
        subs = [[f'<a href="{escape.path_url("submissions", s.slug + ".html")}">{escape.text(s.entry.name)}</a>',
                 escape.text(s.path.name), str(s.entry.seeds)] for s in site.submissions]
        body += "<h2>Accepted submissions</h2>\n" + table(["Method", "Directory", "Seeds"], subs,
                                                            numeric=[False, False, True])
    return page("Methods", body, current="methods.html")


def render_method(site: Site, method: str, runs: list[StoredRun]) -> str:
    body = [f"<p>Family: {escape.text(FAMILIES[family_of(method)])}. {len(runs)} stored runs.</p>\n"]
    profiles = sorted({r.path.parent.parent.name for r in runs})
    for profile in profiles:
        mine = [r for r in runs if r.path.parent.parent.name == profile]
        body.append(f'<h2 id="{escape.attr(profile)}">Profile <code>{escape.text(profile)}</code></h2>\n')
        body.append(_per_seed(mine))
        body.append(_tuning(site.root / profile, profile, method))
        for run in mine:
            body.append(_run_card(profile, run))
    return page(f"Method {method}", "".join(body), depth=1, current="methods.html")


def _per_seed(runs: list[StoredRun]) -> str:
    metrics = sorted({m for r in runs for m in r.result.metrics}, key=metric_sort_key)
    rows = []
    for r in runs:
        res = r.result
        variant = ", ".join(f"{k}={v}" for k, v in sorted(res.variant.items()))
        rows.append([f'<a href="#{escape.attr(res.run_id)}">{escape.text(res.run_id)}</a>',
                     escape.text(res.experiment), escape.text(variant), str(res.seed)]
                    + [fmt(res.metrics.get(m)) for m in metrics])
    header = ["Run", "Experiment", "Variant", "Seed"] + [escape.text(m) for m in metrics]
    return ("<h3>Per-seed numbers (mean over the run's test queries)</h3>\n"
            + table(header, rows, numeric=[False, False, False, True] + [True] * len(metrics)))


def _run_card(profile: str, run: StoredRun) -> str:
    res = run.result
    raw = json.loads((run.path / "run.json").read_text(encoding="utf-8"))
    track = track_of(run)
    hw = res.hardware
    facts = [
        ("experiment", res.experiment), ("dataset", res.dataset), ("data protocol", track.protocol),
        ("model size", res.model_size), ("seed", res.seed),
        ("variant", ", ".join(f"{k}={v}" for k, v in sorted(res.variant.items())) or "—"),
        ("test queries", f"{res.n_queries:,}"), ("beam width", track.beam_width),
        ("code revision", res.code_revision),
        ("hardware", f"{hw.cpu} ({hw.cores} cores)" + (f", {hw.gpu}" if hw.gpu else "")),
        ("packages", ", ".join(f"{k} {v}" for k, v in sorted(res.packages.items()))),
        ("hashes", ", ".join(f"{k} {v}" for k, v in sorted(vars(res.hashes).items()))),
        ("numerical environment", _environment(raw.get("environment"))),
    ]
    budget = raw.get("budget", {})
    budget_rows = [[escape.text(k), escape.text(_number(budget[k]))] for k in BUDGET_FIELDS if k in budget]
    files = run_files(run)
    links = "".join(
        f'<li><a href="{escape.path_url("..", "files", profile, "runs", res.run_id, f.name)}">'
        f"{escape.text(f.name)}</a> ({f.stat().st_size:,} bytes)</li>" for f in files)
    parts = [
        f'<article class="card" id="{escape.attr(res.run_id)}"><h3>Run <code>{escape.text(res.run_id)}</code></h3>\n',
        definitions((escape.text(k), escape.text(v)) for k, v in facts),
        "<h4>Budget</h4>\n", table(["", "value"], budget_rows, numeric=[False, True]),
        _curves(files),
    ]
    if raw.get("tuning") is not None:
        parts.append("<h4>Configuration chosen by a tuning study</h4>\n<pre>" + escape.text_block(json.dumps(raw["tuning"], indent=2,
                                                                                      sort_keys=True)) + "</pre>\n")
    parts += [
        "<details><summary>Resolved configuration</summary><pre>"
        + escape.text_block(json.dumps(raw.get("config", {}), indent=2, sort_keys=True)) + "</pre></details>\n",
        f"<h4>Stored files</h4>\n<ul>{links}</ul>\n</article>\n",
    ]
    return "".join(parts)


def _environment(env: dict | None) -> str:
    """What can move a float besides code and packages (run.json ``environment``), in one line."""
    if not env:
        return "not recorded (run stored before the environment was)"
    settings = ", ".join(f"{k}={v}" for k, v in sorted(env.get("settings", {}).items()))
    return (f"{env.get('torch_cpu_capability')} dispatch, {env.get('threads')} thread(s), BLAS {env.get('blas')}, "
            f"oneDNN {env.get('onednn')}, deterministic algorithms {env.get('deterministic_algorithms')}, "
            f"ISA flags {' '.join(env.get('cpu_flags', []))}" + (f"; {settings}" if settings else ""))


def tuning_files(profile_dir: Path) -> list[Path]:
    """The files of a profile's tuning studies (``<profile>/tuning/``: one JSON per dataset, sensitivity CSV
    and PNG), regular files with plain names only."""
    folder = profile_dir / TUNING_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and safe_name(p.name))


def _tuning(profile_dir: Path, profile: str, method: str) -> str:
    """The method's tuning study in this profile, where one is stored: search space, trials, the choice."""
    parts = []
    files = tuning_files(profile_dir)
    for f in (f for f in files if f.suffix == ".json"):
        try:
            study = json.loads(f.read_text(encoding="utf-8"))
            entry = study["methods"][method]
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(entry, dict):
            continue
        url = escape.path_url("..", "files", profile, TUNING_DIR, f.name)
        parts.append(f'<h3>Tuning study (<a href="{url}">{escape.text(f.name)}</a>)</h3>\n')
        facts = [(k, entry[k]) for k in ("metric", "direction", "n_trials", "sampler", "space", "chosen") if k in entry]
        trials = entry.get("trials") if isinstance(entry.get("trials"), list) else []
        # benchmark.tuning.study.finished, on a file that may hold anything
        n_trials = entry.get("n_trials")
        unfinished = entry.get("chosen") is None or (isinstance(n_trials, int) and len(trials) < n_trials)
        facts = [(k, f"none yet: unfinished, {len(trials)} of {n_trials} trials scored"
                  if k == "chosen" and unfinished else v) for k, v in facts]
        parts.append(definitions((escape.text(k), escape.text(json.dumps(v, sort_keys=True)
                                                               if isinstance(v, (dict, list)) else v))
                                 for k, v in facts))
        rows = [[escape.text(t.get("number", "")), escape.text(json.dumps(t.get("params", {}), sort_keys=True)),
                 escape.text(t.get("score", "")), escape.text(t.get("seconds", ""))]
                for t in trials if isinstance(t, dict)]
        if rows:  # seconds: the trial's wall time, where the study recorded it
            parts.append(table(["trial", "parameters", "score", "seconds"], rows, numeric=[True, False, True, True]))
    # <dataset>-<method>.png beside <dataset>.json: matched whole, since method names share parts ("raddpo" is
    # a part of "raddpo-no-tlgd", "sdpo" of "raddpo-sdpo")
    plots = {f"{f.stem}-{method}.png" for f in files if f.suffix == ".json"}
    for f in files:
        if f.name in plots:
            url = escape.path_url("..", "files", profile, TUNING_DIR, f.name)
            parts.append(f'<figure><img src="{url}" alt="{escape.attr(f.name)}"><figcaption>'
                         f"{escape.text(f.name)}</figcaption></figure>\n")
    return "".join(parts)


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1e6 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _curves(files: list[Path]) -> str:
    """A chart per stored training curve (a CSV with a ``step`` column), else a line saying there is none."""
    charts = []
    for f in files:
        if f.suffix != ".csv":
            continue
        rows = list(csv.DictReader(io.StringIO(f.read_text(encoding="utf-8"))))
        if not rows or "step" not in rows[0]:
            continue
        for column in [c for c in rows[0] if c in ("loss", "lr", "grad_norm")]:
            points = [(float(r["step"]), float(r[column])) for r in rows if r.get(column) not in (None, "")]
            charts.append(f"<figure>{line_chart(points, column)}<figcaption>{escape.text(f.name)}: "
                          f"{escape.text(column)} by step</figcaption></figure>")
    if not charts:
        return "<p class=\"muted\">No training curve is stored with this run.</p>\n"
    return "<h4>Training curves</h4>\n" + "".join(charts) + "\n"


def render_submission(sub: Submission) -> str:
    e = sub.entry
    card = sub.record.get("card", {})
    card = card if isinstance(card, dict) else {}
    method = card.get("method", {}) if isinstance(card.get("method"), dict) else {}
    code = method.get("code", "")
    url = escape.https_url(code)
    code_html = f'<a href="{url}" rel="nofollow noopener noreferrer">{escape.text(code)}</a>' if url else escape.text(code)
    training = card.get("training_data") if isinstance(card.get("training_data"), dict) else {}
    facts = [
        ("directory", escape.text(sub.path.name)),
        ("method", escape.text(e.name)),
        ("description", escape.text(method.get("description", ""))),
        ("code", code_html),
        ("submitter", escape.text(card.get("submitter", "—"))),
        ("hardware", escape.text(card.get("hardware", "—"))),
        ("training data beyond the benchmark's", escape.text(training.get("other", "—"))),
        ("seeds", escape.text(", ".join(str(s) for s in sub.record.get("seeds", [])))),
        ("track", escape.text(", ".join(f"{k} {v}" for k, v in sorted(e.track.to_dict().items())))),
    ]
    metrics = sorted(e.mean, key=metric_sort_key)
    rows = [[escape.text(m), fmt(e.mean[m]), fmt(e.std.get(m))] for m in metrics]
    files = sorted(p for p in sub.path.iterdir() if p.is_file() and not p.is_symlink() and safe_name(p.name))
    links = "".join(f'<li><a href="{escape.path_url("..", "files", "submissions", sub.slug, f.name)}">'
                    f"{escape.text(f.name)}</a></li>" for f in files)
    body = (
        "<p>An accepted leaderboard submission: its metrics were recomputed by <code>grbench validate</code> from "
        "the submitted rankings. Everything below except the numbers is the submitter's text, shown as text.</p>\n"
        + definitions((escape.text(k), v) for k, v in facts)
        + "<h2>Metrics (mean ± std over seeds)</h2>\n"
        + table(["metric", "mean", "std"], rows, numeric=[False, True, True])
        + "<h2>Hyperparameters</h2>\n<pre>"
        + escape.text_block(json.dumps(method.get("hyperparameters", {}), indent=2, sort_keys=True)) + "</pre>\n"
        + "<h2>Run card</h2>\n<pre>" + escape.text_block(sub.card_text) + "</pre>\n"
        + f"<h2>Stored files</h2>\n<ul>{links}</ul>\n"
    )
    return page(f"Submission {e.name}", body, depth=1, current="methods.html")


def safe_name(name: str) -> bool:
    """A file name the site copies and links: plain characters only."""
    return bool(name) and name[0] != "." and all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
