"""Small results trees for the site tests, copied from the committed results (never the whole tree)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
PROFILE = "quick-protocol1"          # 8 runs, its tables, and the track the committed submissions are on
SUBMISSION = "quick-table1-raddpo"

# In every free-text field of a card and in the directory name: markup, script, an event handler, a link.
PAYLOAD = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"><b class=hostile>x</b>'\"&amp;"
HOSTILE_DIR = "<img src=x onerror=alert(1)><b class=hostile>dir'\"&amp;"  # no '/': it is one directory
HOSTILE_CODE = "https://example.org/\"><script>window.__pwned=3</script>"


def copy_results(tmp: Path, hostile: bool = False) -> Path:
    root = tmp / "results"
    shutil.copytree(RESULTS / PROFILE, root / PROFILE)
    shutil.copytree(RESULTS / "data", root / "data")
    (root / "submissions").mkdir()
    shutil.copyfile(RESULTS / "submissions" / "README.md", root / "submissions" / "README.md")
    shutil.copytree(RESULTS / "submissions" / SUBMISSION, root / "submissions" / SUBMISSION)
    if hostile:
        make_hostile(root / "submissions" / SUBMISSION, root / "submissions" / HOSTILE_DIR)
        # and one the board leaves out (never validated): its name and the reason are listed as text
        unvalidated = root / "submissions" / (HOSTILE_DIR + "-unvalidated")
        unvalidated.mkdir()
        shutil.copyfile(root / "submissions" / HOSTILE_DIR / "card.yaml", unvalidated / "card.yaml")
    return root


def make_hostile(source: Path, target: Path) -> None:
    """A copy of an accepted submission whose card carries ``PAYLOAD`` in every free-text field, re-sealed the
    way the validator seals a record, so the board accepts and renders it (nothing else about it changes)."""
    from benchmark.leaderboard.card import card_to_dict, load_card
    from benchmark.leaderboard.submission import read_submission
    from benchmark.leaderboard.validate import fingerprint, seal_record

    shutil.copytree(source, target)
    card = yaml.safe_load((target / "card.yaml").read_text(encoding="utf-8"))
    card["method"].update(name="hostile+1", description=PAYLOAD, code=HOSTILE_CODE,
                          hyperparameters={PAYLOAD: PAYLOAD})
    card.update(hardware=PAYLOAD, submitter=PAYLOAD)
    card["training_data"]["other"] = PAYLOAD
    (target / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False, allow_unicode=True), encoding="utf-8")
    record = json.loads((target / "validated.json").read_text(encoding="utf-8"))
    record.pop("content_hashes")
    record["card"] = card_to_dict(load_card(target / "card.yaml"))
    record["method"] = "hostile+1"
    record["files"] = fingerprint(read_submission(target)[0])
    (target / "validated.json").write_text(json.dumps(seal_record(record), indent=2, sort_keys=True),
                                           encoding="utf-8")


@pytest.fixture(scope="module")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_results(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_results(tmp_path_factory.mktemp("hostile"), hostile=True)
