"""Run cards: safe YAML only, every schema violation named, and the JSON Schema file agrees with the code."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from benchmark.leaderboard.card import (
    Budget,
    Hashes,
    MethodInfo,
    RunCard,
    TrainingData,
    card_from_dict,
    card_to_dict,
    dump_card,
    load_card,
    parse_card,
)
from benchmark.leaderboard.errors import SubmissionError
from tests.leaderboard.tiny import TinySource, card_dict

SCHEMA = Path(__file__).resolve().parents[2] / "results" / "schema" / "submission.schema.json"


@pytest.fixture(scope="module")
def good() -> dict:
    data = card_dict(TinySource(), [0, 1])
    data["claimed_metrics"] = {0: {"item_recall@100": 0.5}, "1": {"sid_mrr": 0.25}}
    return data


def test_valid_card_round_trips_through_yaml(good: dict) -> None:
    card = card_from_dict(good)
    assert card.seeds == (0, 1)
    assert card.claimed_metrics == {0: {"item_recall@100": 0.5}, 1: {"sid_mrr": 0.25}}  # "1" -> 1
    assert card.beam_width == 8
    again = parse_card(dump_card(card))
    assert again == card
    assert dump_card(again) == dump_card(card)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": None}, r"missing required key\(s\): method"),
        ({"method": {"name": "x", "code": "https://a.b"}}, r"missing required key\(s\): method.description"),
        ({"seeds": [0, 0]}, r"'seeds' parameter of RunCard must be a non-empty list of at most 32 distinct ints"),
        ({"seeds": [-1]}, r"'seeds'.*Got \[-1\]"),
        ({"schema_version": 2}, r"'schema_version' parameter of RunCard must be 1"),
        ({"method": {"name": "../evil", "description": "d", "code": "https://a.b"}}, r"'name' parameter of MethodInfo"),
        ({"method": {"name": "m", "description": "d", "code": "file:///etc/passwd"}}, r"'code' parameter of MethodInfo must be an http\(s\) URL"),
        ({"budget": {"optimizer_steps": -3, "batch_size": 2, "tokens": 1}},
         r"The 'optimizer_steps' parameter of Budget must be an int in the range \[0, inf\)\. Got -3 instead\."),
        ({"budget": {"optimizer_steps": 3, "batch_size": 2, "tokens": 1, "tokenz": 2}},
         r"Unknown configuration key 'budget.tokenz'.*Did you mean 'tokens'"),
        ({"evaluation": {"beam_width": 256}}, r"'evaluation.beam_width' parameter of RunCard must be an int in the range \[1, 128\]"),
        ({"hashes": {"test_hash": "../../x", "catalog_hash": "abc"}}, r"'test_hash' parameter of Hashes"),
        ({"claimed_metrics": {7: {"sid_mrr": 0.1}}}, r"entry for seed 7, which is not one of the card's seeds \[0, 1\]"),
        ({"claimed_metrics": {0: {"sid_mrr": "high"}}}, r"claimed_metrics\[0\]\['sid_mrr'\] must be a finite number"),
        ({"hardware": ""}, r"'hardware' parameter of RunCard must be a non-empty string"),
        ({"training_data": "amazon"}, r"'training_data' parameter of RunCard must be a mapping"),
        ({"method": {"name": "m", "description": "d", "code": "https://a.b", "hyperparameters": {"lr": float("nan")}}},
         r"must hold finite numbers only"),
    ],
)
def test_malformed_card_is_rejected_naming_the_problem(good: dict, change: dict, message: str) -> None:
    data = dict(good)
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    with pytest.raises(SubmissionError, match=message):
        card_from_dict(data)


def test_yaml_tags_aliases_and_bombs_are_refused(good: dict) -> None:
    text = dump_card(card_from_dict(good))
    # python-specific tags: safe_load refuses to construct them (nothing is executed)
    with pytest.raises(SubmissionError, match="not valid YAML"):
        parse_card(text + "x: !!python/object/apply:os.system ['echo pwned']\n")
    # aliases: the billion-laughs expansion is refused before construction
    bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"
    with pytest.raises(SubmissionError, match="aliases"):
        parse_card(bomb)
    deep = "x: " + "[" * 100 + "]" * 100 + "\n"
    with pytest.raises(SubmissionError, match="too large or too deeply nested"):
        parse_card(deep)
    with pytest.raises(SubmissionError, match="not valid YAML"):
        parse_card("method: {name: [unclosed\n")
    # YAML builds dates from bare timestamps: not JSON, refused with the place named
    with pytest.raises(SubmissionError, match=r"hyperparameters.day.*date"):
        parse_card(text.replace("hyperparameters:", "hyperparameters:\n    day: 2024-01-01", 1))
    with pytest.raises(SubmissionError, match="must hold a mapping at top level"):
        parse_card("- just\n- a list\n")


def test_card_file_size_and_encoding_are_bounded(tmp_path: Path, good: dict) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(dump_card(card_from_dict(good)) + "#" * 2000 + "\n")
    with pytest.raises(SubmissionError, match=r"card.yaml is \d+ bytes; a run card may be at most 1000 bytes"):
        load_card(path, max_bytes=1000)
    path.write_bytes(b"method: \xff\xfe\n")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        load_card(path)


def _schema() -> dict:
    return json.loads(SCHEMA.read_text())


def test_json_schema_file_agrees_with_the_dataclasses(good: dict) -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    sections = {"": RunCard, "method": MethodInfo, "budget": Budget, "training_data": TrainingData, "hashes": Hashes}
    for key, cls in sections.items():
        node = schema if not key else schema["properties"][key]
        fields = dataclasses.fields(cls)
        required = sorted(f.name for f in fields
                          if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        assert sorted(node["required"]) == required, key
        assert sorted(node["properties"]) == sorted(f.name for f in fields), key
        assert node["additionalProperties"] is False, key
    # every card the code accepts (as written by dump_card) validates against the schema
    jsonschema.validate(yaml.safe_load(dump_card(card_from_dict(good))), schema)
    assert card_to_dict(card_from_dict(good))["claimed_metrics"] == {"0": {"item_recall@100": 0.5}, "1": {"sid_mrr": 0.25}}


def test_json_schema_rejects_what_the_code_rejects(good: dict) -> None:
    schema = _schema()
    bad = yaml.safe_load(dump_card(card_from_dict(good)))
    bad["seeds"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(SubmissionError):
        card_from_dict(bad)
