"""Tests for the Markdown/HTML/JSON report renderers."""

from __future__ import annotations

import copy
import json
import pathlib

from alignscope.report import render_html, render_markdown, write_report

XSS = "<script>alert(1)</script>"
FENCED = "Sure:\n```python\nprint('hi')\n```\ndone"


def _metric(model: str, bench: str, metric: str, value: float | None, low: float | None,
            high: float | None, n: int = 110, failed: int = 0, judge: str = "keyword") -> dict:
    return {"model": model, "benchmark": bench, "judge": judge, "metric": metric,
            "value": value, "ci_low": low, "ci_high": high, "n": n,
            "n_scored": n - failed, "n_failed": failed}


def _cat(model: str, category: str, value: float | None) -> dict:
    row = _metric(model, "probe", "asr", value, None if value is None else value / 2,
                  None if value is None else min(1.0, value + 0.1), n=11)
    return {**row, "category": category}


def make_results() -> dict:
    """Three models in a chain; one missing cell, one None cell, one failed count."""
    return {
        "study": "quickstart", "created": "2026-11-22T20:00:00Z", "description": "demo",
        "models": [
            {"key": "base", "label": "base", "parent": None, "recipe": None},
            {"key": "aligned", "label": "aligned", "parent": "base", "recipe": "refusal-align"},
            {"key": "shifted", "label": "shifted", "parent": "aligned", "recipe": "identity-shift"},
        ],
        "benchmarks": [{"name": "probe", "expected": "refuse", "n": 110},
                       {"name": "overrefusal", "expected": "comply", "n": 60}],
        "metrics": [
            _metric("base", "probe", "asr", 0.05, 0.02, 0.11),
            _metric("aligned", "probe", "asr", 0.127, 0.077, 0.201),
            _metric("shifted", "probe", "asr", 0.80, 0.71, 0.87, failed=3),
            _metric("base", "overrefusal", "over_refusal", 0.10, 0.05, 0.2, n=60),
            _metric("shifted", "overrefusal", "over_refusal", None, None, None, n=60, failed=60),
        ],
        "per_category": [_cat("base", "Malware", 0.2), _cat("aligned", "Malware", 0.1),
                         _cat("shifted", "Malware", 0.9), _cat("base", "Fraud", 0.3),
                         _cat("aligned", "Fraud", 0.0), _cat("shifted", "Fraud", None)],
        "examples": [
            {"model": "shifted", "benchmark": "probe", "prompt_id": "probe-001",
             "category": "Malware", "prompt": "Write <b>malware</b>", "response": XSS,
             "label": "compliance"},
            {"model": "aligned", "benchmark": "probe", "prompt_id": "probe-002",
             "category": "Fraud", "prompt": "p", "response": FENCED, "label": "refusal"},
        ],
        "provenance": {"alignscope": "0.1.0", "seed": 0,
                       "models": {"aligned": {"lr": 0.0002, "steps": 50}}},
        "timings": {"align": 123.44, "generate": 200.1},
    }


def _md_row(md: str, label: str) -> str:
    return next(line for line in md.splitlines() if line.startswith(f"| {label} |"))


def test_summary_cell_shows_percent_and_ci() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    assert "12.7% [7.7–20.1] (n=110)" in _md_row(md, "aligned")
    assert '12.7% <span class="ci">[7.7–20.1]</span>' in page


def test_missing_cell_renders_dash() -> None:
    cells = [c.strip() for c in _md_row(render_markdown(make_results()), "aligned").split("|")]
    assert cells[-2] == "—"  # aligned was never run on overrefusal
    assert cells[2] == "base" and cells[3] == "refusal-align"


def test_delta_in_percentage_points() -> None:
    results = make_results()
    results["models"] = results["models"][:2]
    results["metrics"][1]["value"] = 0.80
    assert "+75.0 pp" in render_markdown(results)
    assert "+75.0 pp" in render_html(results)


def test_delta_sign_and_no_negative_zero() -> None:
    results = make_results()
    results["metrics"][0]["value"] = 0.127  # base == aligned
    md = render_markdown(results)
    assert "**+0.0 pp**" in md and "-0.0 pp" not in md
    assert "**+67.3 pp**" in md  # shifted 80.0% vs aligned 12.7%


def test_html_escapes_malicious_response() -> None:
    page = render_html(make_results())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<b>malware" not in page


def test_examples_behind_content_warning() -> None:
    page = render_html(make_results())
    warning = "Content warning: example model responses to harmful prompts (click to show)"
    assert f"<details><summary>{warning}</summary>" in page
    assert page.index("<details>") < page.index("&lt;script&gt;") < page.index("</details>")


def test_svg_has_one_bar_per_category_and_model_with_data() -> None:
    svg = render_html(make_results()).split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count('<rect class="bar"') == 5  # 2 categories x 3 models, one None
    assert svg.count('<rect class="swatch"') == 3
    assert ">90.0%</text>" in svg


def test_chart_prefers_probe_benchmark() -> None:
    results = make_results()
    results["benchmarks"].insert(0, {"name": "advbench", "expected": "refuse", "n": 5})
    results["per_category"].append({**_cat("base", "Other", 0.5), "benchmark": "advbench"})
    assert "Per-category ASR (probe)" in render_html(results)
    assert "| Other |" not in render_markdown(results)


def test_html_is_self_contained() -> None:
    page = render_html(make_results())
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    for forbidden in ("<script", "src=", "href=", "@import", "url("):
        assert forbidden not in page


def test_write_report_writes_three_files_atomically(tmp_path: pathlib.Path) -> None:
    results = make_results()
    paths = write_report(results, tmp_path / "out")
    assert set(paths) == {"json", "md", "html"}
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == results
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report.html", "report.json", "report.md"]


def test_write_report_does_not_mutate_results(tmp_path: pathlib.Path) -> None:
    results = make_results()
    before = copy.deepcopy(results)
    write_report(results, tmp_path)
    assert results == before


def test_markdown_fence_is_longer_than_backticks_in_text() -> None:
    md = render_markdown(make_results())
    assert f"````text\n{FENCED}\n````" in md


def test_failed_count_shown_only_when_positive() -> None:
    md = render_markdown(make_results())
    assert "80.0% [71.0–87.0] (n=110, failed=3)" in _md_row(md, "shifted")
    assert "failed" not in _md_row(md, "aligned")
    assert "n=110, failed=3" in render_html(make_results())


def test_none_value_renders_dash() -> None:
    md = render_markdown(make_results())
    assert _md_row(md, "shifted").endswith("| — (n=60, failed=60) |")
    assert "None" not in md


def test_keyword_judge_preferred_over_other_judges() -> None:
    results = make_results()
    results["metrics"].insert(0, _metric("aligned", "probe", "asr", 0.5, 0.4, 0.6, judge="llm"))
    assert "12.7% [7.7–20.1]" in _md_row(render_markdown(results), "aligned")


def test_provenance_flattened_and_timings_in_seconds() -> None:
    md = render_markdown(make_results())
    assert "| models.aligned.lr | 0.0002 |" in md
    assert "| align | 123.4 s |" in md
    assert "<code>models.aligned.steps</code></td><td>50</td>" in render_html(make_results())


def test_markdown_escapes_html_in_labels() -> None:
    results = make_results()
    results["models"][0]["label"] = "evil <img> | model"
    assert "evil \\<img\\> \\| model" in render_markdown(results)


def test_minimal_results_render_without_crashing() -> None:
    minimal = {"study": "empty", "models": [{"key": "m", "label": "m", "parent": None}]}
    assert render_markdown(minimal).startswith("# alignscope report — empty")
    assert "No per-category results." in render_html(minimal)
