"""The typed results document: it reads every report.json the pipeline writes and writes it back
byte for byte; unknown keys and broken files fail loudly, in one line."""

from __future__ import annotations

import json
import pathlib

import pytest
from pydantic import ValidationError

from alignscope.errors import AlignscopeError
from alignscope.report import render_html, render_markdown, write_report
from alignscope.results import Aggregate, MetricRow, StudyResults, load_results

from .study_results import rich_results
from .test_report import make_results

# A trimmed report.json as study.build_results writes it: every key, nulls and all, library
# versions first in provenance, an api model with its served name, a grid cell.
BUILT = pathlib.Path(__file__).with_name("built_report.json")


def _dumps(results: dict) -> str:
    return json.dumps(results, indent=2) + "\n"


@pytest.mark.parametrize("text", [BUILT.read_text(encoding="utf-8"), _dumps(make_results()),
                                  _dumps(rich_results())], ids=["built", "make", "rich"])
def test_report_json_round_trips_byte_for_byte(text: str) -> None:
    assert StudyResults.model_validate(json.loads(text)).to_json() == text


def test_fields_are_typed_attributes() -> None:
    results = StudyResults.model_validate_json(BUILT.read_text(encoding="utf-8"))
    api = next(m for m in results.models if m.backend == "api")
    assert (api.served_name, api.base_url) == ("my-served", "https://api.openai.com/v1")
    assert isinstance(results.metrics[0], MetricRow) and results.metrics[0].category is None
    assert results.per_category[0].category == "Malware"
    assert results.provenance.judges["policy"]["model"] == "m"
    assert results.provenance.model_extra == {"alignscope": "0.1.0", "torch": "2.5.0", "python": "3.12.1"}
    cell = next(m for m in results.models if m.grid is not None).grid
    assert cell is not None and cell.params == {"lr": 2e-05, "mode": "a", "flag": True}


def test_numbers_and_levels_keep_their_json_type() -> None:
    results = StudyResults.model_validate(rich_results())
    assert results.examples[0].labels == {"keyword": "compliance", "policy": 4}
    assert type(results.examples[0].labels["policy"]) is int
    assert [type(v) for v in results.grids[1].values["roleplay"]] == [bool, bool]
    assert isinstance(results.aggregates[0], Aggregate) and results.aggregates[0].n_seeds == 2


def test_unset_fields_stay_out_and_nulls_stay_in() -> None:
    text = StudyResults.model_validate({"study": "s", "description": None}).to_json()
    assert json.loads(text) == {"study": "s", "description": None}


def test_a_misspelt_key_is_an_error_not_a_silent_gap() -> None:
    results = make_results()
    results["metrics"][0]["valeu"] = results["metrics"][0].pop("value")
    with pytest.raises(ValidationError, match=r"metrics\.0\.valeu"):
        StudyResults.model_validate(results)


def test_write_report_takes_the_model_or_a_dict(tmp_path: pathlib.Path) -> None:
    typed = write_report(StudyResults.model_validate(rich_results()), tmp_path / "typed")
    plain = write_report(rich_results(), tmp_path / "plain")
    for kind in ("json", "md", "html"):
        assert typed[kind].read_bytes() == plain[kind].read_bytes()


def test_load_results_reads_what_write_report_wrote(tmp_path: pathlib.Path) -> None:
    paths = write_report(make_results(), tmp_path)
    loaded = load_results(paths["json"])
    assert loaded == StudyResults.model_validate(make_results())
    assert render_markdown(loaded) == paths["md"].read_text(encoding="utf-8")
    assert render_html(loaded) == paths["html"].read_text(encoding="utf-8")


def _load_error(path: pathlib.Path) -> str:
    with pytest.raises(AlignscopeError) as caught:
        load_results(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_load_results_fails_in_one_line(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope" / "report.json"
    assert _load_error(missing).startswith(f"{missing}: cannot read study results")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "study": "s",\n  oops\n}\n')
    assert _load_error(broken) == f"{broken}:3: json: Expecting property name enclosed in double quotes"
    wrong = tmp_path / "wrong.json"
    results = make_results()
    results["metrics"][2]["value"] = "high"
    results["models"][0].pop("key")
    wrong.write_text(json.dumps(results))
    assert _load_error(wrong).startswith(f"{wrong}: models[0].key: Field required (and 1 more problems)")
