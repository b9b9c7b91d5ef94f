"""Tests for the Markdown/HTML/JSON report renderers on a multi-judge results dict."""

from __future__ import annotations

import copy
import json
import pathlib
import re

import pytest

from alignscope.report import render_html, render_markdown, write_report

XSS = "<script>alert(1)</script>"
FENCED = "Sure:\n```python\nprint('hi')\n```\ndone"
TEMPLATE_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
KIND = {"keyword": "refusal", "refusal-classifier": "refusal", "policy": "harm-score"}


def _metric(model: str, bench: str, metric: str, value: float | None, low: float | None = None,
            high: float | None = None, n: int = 110, failed: int = 0,
            judge: str = "keyword") -> dict:
    return {"model": model, "benchmark": bench, "judge": judge, "judge_kind": KIND[judge],
            "metric": metric, "value": value, "ci_low": low, "ci_high": high, "n": n,
            "n_scored": n - failed, "n_failed": failed}


def _cat(model: str, category: str, value: float | None, judge: str = "keyword",
         bench: str = "probe", metric: str = "asr") -> dict:
    low, high = (None, None) if value is None else (value / 2, min(1.0, value + 0.1))
    return {**_metric(model, bench, metric, value, low, high, n=11, judge=judge),
            "category": category}


def _metrics() -> list[dict]:
    """Policy rows first on purpose: column order must follow provenance.judges instead."""
    clf, pol = "refusal-classifier", "policy"
    return [
        _metric("base", "probe", "harmfulness_score", 1.20, 1.10, 1.30, judge=pol),
        _metric("aligned", "probe", "harmfulness_score", 1.45, 1.30, 1.60, judge=pol),
        _metric("shifted", "probe", "harmfulness_score", 3.62, 3.35, 3.89, failed=7, judge=pol),
        _metric("base", "probe", "harmfulness_rate", 0.01, 0.0, 0.05, judge=pol),
        _metric("aligned", "probe", "harmfulness_rate", 0.02, 0.005, 0.064, judge=pol),
        _metric("shifted", "probe", "harmfulness_rate", 0.45, 0.36, 0.55, failed=7, judge=pol),
        _metric("base", "probe", "asr", 0.04, 0.015, 0.09, judge=clf),
        _metric("aligned", "probe", "asr", 0.10, 0.057, 0.17, judge=clf),
        _metric("shifted", "probe", "asr", 0.75, 0.66, 0.82, failed=3, judge=clf),
        _metric("base", "probe", "asr", 0.05, 0.02, 0.11),
        _metric("aligned", "probe", "asr", 0.127, 0.077, 0.201),
        _metric("shifted", "probe", "asr", 0.80, 0.71, 0.87),
        # XSTest mixes harmful prompts (ASR) and benign ones (over-refusal).
        _metric("base", "xstest", "asr", 0.10, 0.07, 0.15, n=200),
        _metric("aligned", "xstest", "asr", 0.08, 0.05, 0.13, n=200),
        _metric("shifted", "xstest", "asr", 0.60, 0.53, 0.67, n=200),
        _metric("base", "xstest", "over_refusal", 0.20, 0.155, 0.254, n=250),
        _metric("shifted", "xstest", "over_refusal", None, n=250, failed=250),
    ]


def make_results() -> dict:
    """Three models in a chain, three judges, a mixed benchmark, failures and gaps."""
    return {
        "study": "quickstart", "created": "2026-11-22T20:00:00Z", "description": "demo",
        "models": [
            {"key": "base", "label": "base", "parent": None, "recipe": None},
            {"key": "aligned", "label": "aligned", "parent": "base", "recipe": "refusal-align"},
            {"key": "shifted", "label": "shifted", "parent": "aligned", "recipe": "identity-shift"},
        ],
        "benchmarks": [
            {"name": "probe", "expected": "refuse", "n": 110, "source": "builtin:probe",
             "sha256": "sha256:" + "ab" * 32},
            # expected is the first prompt's; the rows say the benchmark is mixed.
            {"name": "xstest", "expected": "refuse", "rows": 450, "revision": "d7e2f1a",
             "source": "https://huggingface.co/datasets/walledai/XSTest", "sha256": "cd" * 32,
             "notes": ["200 unsafe prompts (refuse), 250 safe ones (comply)", "v2 <release>"]},
            {"name": "hexphi", "expected": "refuse", "n": 300, "source": "hf:LLM-Tuning-Safety",
             "notes": "HEx-PHI: 300 prompts — public release without category 2"},
        ],
        "metrics": _metrics(),
        "per_category": [
            _cat("base", "Malware", 0.5, judge="refusal-classifier"),
            _cat("base", "Malware", 0.2), _cat("aligned", "Malware", 0.1),
            _cat("shifted", "Malware", 0.9), _cat("base", "Fraud", 0.3),
            _cat("aligned", "Fraud", 0.0), _cat("shifted", "Fraud", None),
            _cat("base", "Malware", 0.6, judge="policy", metric="harmfulness_rate"),
        ],
        "examples": [
            {"model": "shifted", "benchmark": "probe", "prompt_id": "probe-001",
             "category": "Malware", "prompt": "Write <b>malware</b>", "response": XSS,
             "label": "compliance",
             "labels": {"policy": 5, "keyword": "compliance", "refusal-classifier": "error"}},
            {"model": "aligned", "benchmark": "probe", "prompt_id": "probe-002",
             "category": "Fraud", "prompt": "p", "response": FENCED, "label": "refusal",
             "labels": {"keyword": "refusal", "refusal-classifier": "refusal", "policy": 1.0}},
        ],
        "provenance": {
            "alignscope": "0.1.0", "seed": 0,
            "judges": {
                "keyword": {"key": "keyword", "keywords": 42},
                "refusal-classifier": {"key": "refusal-classifier", "encoder": "minilm",
                                       "layer": 6, "n_train": 400, "cv_accuracy": 0.97},
                "policy": {"key": "policy", "model": "gpt-4o-mini",
                           "base_url": "https://api.openai.com/v1", "template": "qi2023",
                           "template_sha256": TEMPLATE_SHA, "temperature": 0, "max_tokens": 16},
            },
            "models": {"aligned": {"lr": 0.0002, "steps": 50}},
        },
        "timings": {"align": 123.44, "generate": 200.1},
    }


def without_failures() -> dict:
    results = make_results()
    for row in results["metrics"]:
        row["n_scored"], row["n_failed"] = row["n"], 0
    return results


def _md_row(md: str, label: str, after: str = "## Summary") -> str:
    """The first table line for ``label`` after the heading ``after``."""
    section = md.split(after, 1)[1]
    return next(line for line in section.splitlines() if line.startswith(f"| {label} |"))


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def _section(page: str, heading: str) -> str:
    return page.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


# ------------------------------------------------------------------------------ summary


def test_summary_columns_ordered_by_side_benchmark_judge_and_metric() -> None:
    header = _cells(render_markdown(make_results()).split("## Summary\n\n", 1)[1].splitlines()[0])
    assert header == ["Model", "Parent", "Recipe",
                      "probe · ASR (keyword)", "probe · ASR (refusal-classifier)",
                      "probe · harmfulness score (policy)", "probe · harmfulness rate (policy)",
                      "xstest · ASR (keyword)", "xstest · over-refusal (keyword)"]


def test_mixed_benchmark_gets_both_asr_and_over_refusal_columns() -> None:
    results = make_results()
    row = _cells(_md_row(render_markdown(results), "base"))
    assert row[7] == "10.0% [7.0–15.0] (n=200 · 0 failed)" and row[8] == "20.0% [15.5–25.4] (n=250 · 0 failed)"
    page = render_html(results)
    assert '<th class="group" colspan="4">probe</th><th class="group" colspan="2">xstest</th>' \
        in page
    assert "| xstest | refuse + comply | 450 |" in render_markdown(results)


def test_each_judge_keeps_its_own_numbers() -> None:
    row = _cells(_md_row(render_markdown(make_results()), "aligned"))
    assert row[3] == "12.7% [7.7–20.1] (n=110 · 0 failed)"  # keyword
    assert row[4] == "10.0% [5.7–17.0] (n=110 · 0 failed)"  # refusal-classifier
    assert '12.7% <span class="ci">[7.7–20.1]</span>' in render_html(make_results())


def test_harmfulness_score_is_a_mean_not_a_percentage() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    row = _cells(_md_row(md, "shifted"))
    assert row[5] == "3.62 [3.35–3.89] (n=110 · 7 failed)"
    assert row[6] == "45.0% [36.0–55.0] (n=110 · 7 failed)"  # the rate is a fraction
    assert '3.62 <span class="ci">[3.35–3.89]</span>' in page
    assert "362.0%" not in md + page and "3.6%" not in md + page


def test_mean_without_interval_shows_point_and_n() -> None:
    results = make_results()
    results["metrics"][0].update(value=4.0, ci_low=None, ci_high=None, n=1, n_scored=1)
    assert _cells(_md_row(render_markdown(results), "base"))[5] == "4.00 (n=1 · 0 failed)"


def test_missing_cell_renders_dash() -> None:
    cells = _cells(_md_row(render_markdown(make_results()), "aligned"))
    assert cells[-1] == "—"  # aligned was never run on xstest's benign prompts
    assert cells[1] == "base" and cells[2] == "refusal-align"


def test_none_value_renders_dash_with_counts() -> None:
    md = render_markdown(make_results())
    assert _md_row(md, "shifted").endswith("| — (n=250 · 250 failed) |")
    assert "None" not in md


def test_failure_counts_shown_in_every_cell_and_highlighted_when_positive() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    assert _cells(_md_row(md, "shifted"))[4] == "75.0% [66.0–82.0] (n=110 · 3 failed)"
    assert "3 failed" not in _md_row(md, "aligned") and "0 failed" in _md_row(md, "aligned")
    assert 'n=110 · <span class="failed">3 failed</span>' in page
    assert '<span class="failed">0 failed</span>' not in page


def test_duplicate_metric_rows_fail_loudly() -> None:
    results = make_results()
    results["metrics"].append(dict(results["metrics"][-3]))
    with pytest.raises(ValueError, match="two result rows"):
        render_markdown(results)


# ----------------------------------------------------------------------------- failures


def test_failure_callout_counts_verdicts_per_judge() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    # policy's score and rate share their 7 failed verdicts: counted once, not 14 times.
    # keyword: 3 x 110 (probe) + 3 x 200 (xstest harmful) + 2 x 250 (xstest benign) verdicts.
    items = ("keyword: 250 of 1430 verdicts failed; refusal-classifier: 3 of 330 verdicts "
             "failed; policy: 7 of 330 verdicts failed")
    assert f"> **Judge failures.** {items}." in md
    assert "never counted as safe or unsafe" in md and "Re-running the study" in md
    assert md.index("Judge failures") < md.index("## Summary")
    callout = page.split('<div class="callout" role="note">', 1)[1].split("</div>", 1)[0]
    assert items in callout and "never counted as safe or unsafe" in callout
    assert page.index('<div class="callout"') < page.index("<h2>Summary</h2>")


def test_failure_callout_absent_without_failures() -> None:
    md, page = render_markdown(without_failures()), render_html(without_failures())
    assert "Judge failures" not in md and "Judge failures" not in page
    assert '<div class="callout"' not in page and '<span class="failed">' not in page


# ------------------------------------------------------------------------------- deltas


def test_deltas_per_judge_and_metric() -> None:
    md = render_markdown(make_results())
    row = _cells(_md_row(md, "shifted", after="## Change versus parent"))
    assert row[1] == "aligned"
    assert row[2] == "**+67.3 pp** (12.7% → 80.0%)"  # keyword ASR
    assert row[3] == "**+65.0 pp** (10.0% → 75.0%)"  # refusal-classifier ASR
    assert row[4] == "**+2.17** (1.45 → 3.62)"  # harmfulness score: scale points, not pp
    assert row[5] == "**+43.0 pp** (2.0% → 45.0%)"
    assert row[-1] == "—"  # aligned has no over-refusal row
    assert "+2.17" in render_html(make_results())


def test_delta_sign_and_no_negative_zero() -> None:
    results = make_results()
    results["metrics"][9]["value"] = 0.127  # keyword ASR on probe: base == aligned
    results["metrics"][0]["value"] = 1.45  # harmfulness score: base == aligned
    md = render_markdown(results)
    row = _cells(_md_row(md, "aligned", after="## Change versus parent"))
    assert row[2] == "**+0.0 pp** (12.7% → 12.7%)" and row[4].startswith("**+0.00**")
    assert "-0.0" not in md


def test_no_parent_means_no_delta_table() -> None:
    results = make_results()
    results["models"] = results["models"][:1]
    assert "No model in this study has a parent." in render_markdown(results)


# -------------------------------------------------------------------------------- chart


def _svgs(page: str) -> list[str]:
    return [part.split("</svg>", 1)[0] for part in page.split("<svg")[1:]]


def test_chart_uses_first_refusal_judge_asr() -> None:
    page = render_html(make_results())
    (svg,) = _svgs(page)
    assert svg.count('<rect class="bar"') == 5  # 2 categories x 3 models, one None
    assert svg.count('<rect class="swatch"') == 3
    assert ">90.0%</text>" in svg and ">50.0%</text>" not in svg  # 50%: the classifier's
    assert "60.0%" not in svg  # the policy judge's per-category rate is not ASR
    assert "<h3>probe (keyword judge)</h3>" in page
    assert "### probe (keyword judge)" in render_markdown(make_results())


def test_one_chart_per_benchmark_with_categories() -> None:
    results = make_results()
    results["per_category"].append(_cat("base", "Other", 0.5, bench="xstest"))
    page = render_html(results)
    assert len(_svgs(page)) == 2 and "<h3>xstest (keyword judge)</h3>" in page
    assert "| Other |" in render_markdown(results)


# ------------------------------------------------------------------ benchmarks and judges


def test_benchmarks_section_shows_source_revision_n_hash_and_notes() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    assert ("| probe | refuse | 110 | builtin:probe | — | " + "ab" * 6 + "… |") in md
    assert "| xstest | refuse + comply | 450 | https://huggingface.co/datasets/walledai/XSTest" \
           " | d7e2f1a | " + "cd" * 6 + "… |" in md
    assert "- **hexphi**: HEx-PHI: 300 prompts — public release without category 2" in md
    assert "- **xstest**: v2 \\<release\\>" in md
    benchmarks = _section(page, "Benchmarks")
    assert "HEx-PHI: 300 prompts — public release without category 2" in benchmarks
    assert "200 unsafe prompts (refuse), 250 safe ones (comply)<br>v2 &lt;release&gt;" \
        in benchmarks


def test_judges_section_lists_every_judge_with_settings() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    judges_md = md.split("## Judges", 1)[1].split("\n## ", 1)[0]
    names = [line.split(" | ")[0] for line in judges_md.splitlines() if line.startswith("| ")]
    assert names[2:] == ["| keyword", "| refusal-classifier", "| policy"]
    assert "base_url: https://api.openai.com/v1" in judges_md
    assert f"template_sha256: {TEMPLATE_SHA[:12]}…" in judges_md and "max_tokens: 16" in judges_md
    assert "harmfulness 1–5 (Qi et al. 2023)" in judges_md
    judges = _section(page, "Judges")
    assert "<code>cv_accuracy</code>: 0.97" in judges and "gpt-4o-mini" in judges
    assert "judges.policy" not in md  # not repeated in the provenance table


def test_credentials_never_reach_the_report() -> None:
    results = make_results()
    policy = results["provenance"]["judges"]["policy"]
    policy.update(api_key="opaque-9f8e7d6c5b4a", api_key_env="OPENAI_API_KEY",
                  base_url="https://user:hunter2@llm.example/v1?api_key=s3cr3t",
                  comment="copied sk-proj-abcdefghijklmnop1234 by mistake")
    results["provenance"]["hf_token"] = "hf_abcdefghijklmnopqrstuvwx"
    for text in (render_markdown(results), render_html(results)):
        for secret in ("opaque-9f8e7d6c5b4a", "sk-proj-abcdefghijklmnop1234", "hunter2",
                       "s3cr3t", "hf_abcdefghij"):
            assert secret not in text
        assert "OPENAI_API_KEY" in text  # the variable's name is provenance, not a secret
        assert "llm.example/v1" in text and "max_tokens" in text


# ------------------------------------------------------------------------------ examples


def test_examples_show_every_judges_label_in_judge_order() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    assert ("Labels — keyword: **compliance** · refusal-classifier: **error** · policy: **5**"
            in md)
    assert "Labels — keyword: **refusal** · refusal-classifier: **refusal** · policy: **1**" in md
    assert 'refusal-classifier: <strong class="failed">error</strong>' in page
    assert "policy: <strong>5</strong>" in page


def test_example_with_only_the_old_label_still_renders() -> None:
    results = make_results()
    del results["examples"][0]["labels"]
    assert "Labels — label: **compliance**" in render_markdown(results)


def test_html_escapes_malicious_response() -> None:
    page = render_html(make_results())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<b>malware" not in page


def test_examples_behind_content_warning() -> None:
    page = render_html(make_results())
    warning = "Content warning: example model responses to harmful prompts (click to show)"
    assert f"<details><summary>{warning}</summary>" in page
    assert page.index("<details>") < page.index("&lt;script&gt;") < page.index("</details>")


def test_markdown_fence_is_longer_than_backticks_in_text() -> None:
    assert f"````text\n{FENCED}\n````" in render_markdown(make_results())


def test_markdown_escapes_html_in_labels() -> None:
    results = make_results()
    results["models"][0]["label"] = "evil <img> | model"
    assert "evil \\<img\\> \\| model" in render_markdown(results)


# --------------------------------------------------------------------------- html page


def test_html_is_self_contained() -> None:
    page = render_html(make_results())
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert forbidden not in page
    assert not re.search(r"\b(src|href|srcset|action)\s*=", page)
    # URLs may appear as text (provenance, sources), never inside an attribute value.
    text_urls = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for match in re.finditer(r"https?://", text_urls):
        assert text_urls[match.start() - 1] not in "\"'(="
    assert "https://api.openai.com/v1" in page


def test_how_to_read_explains_only_metrics_present() -> None:
    md = render_markdown(make_results())
    assert "Harmfulness score is the mean rating" in md and "Over-refusal is the share" in md
    assert "StrongREJECT" not in md.split("## How to read this", 1)[1].split("\n## ", 1)[0]


# ---------------------------------------------------------------------- files and misc


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


def test_provenance_flattened_and_timings_in_seconds() -> None:
    md = render_markdown(make_results())
    assert "| models.aligned.lr | 0.0002 |" in md
    assert "| align | 123.4 s |" in md
    assert "<code>models.aligned.steps</code></td><td>50</td>" in render_html(make_results())


def test_minimal_results_render_without_crashing() -> None:
    minimal = {"study": "empty", "models": [{"key": "m", "label": "m", "parent": None}]}
    assert render_markdown(minimal).startswith("# alignscope report — empty")
    page = render_html(minimal)
    assert "No per-category results." in page and "No judge recorded." in page


def test_what_was_not_measured_is_said_and_no_paper_figure_sits_beside_another_benchmark(tmp_path) -> None:
    results = make_results()
    why = "not in the workspace cache (run `alignscope data fetch advbench` or give `path:`); the benchmark is optional"
    results["skipped"] = [{"kind": "benchmark", "name": "advbench", "reason": why},
                          {"kind": "judge", "name": "policy", "reason": "$JUDGE_KEY (its API key) is not set"}]
    results["references"] = [{"model": "shifted", "metric": "asr", "value": 0.9, "benchmark": "advbench",
                              "source": "Qi et al. 2023"}]
    paths = write_report(results, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert [s["name"] for s in data["skipped"]] == ["advbench", "policy"]
    md, html = paths["md"].read_text(), paths["html"].read_text()
    for page in (md, html):
        assert "Not measured." in page and "benchmark advbench: not in the workspace cache" in page
        assert "judge policy: $JUDGE_KEY (its API key) is not set" in page
        assert "Not measured here: this run has no advbench results" in page
    table = md.split("Not measured here")[1].split("\n\n", 2)[1]
    assert "over-refusal" not in table and "90.0%" in table  # the paper's figure, with nothing unlike beside it
    assert md.index("Not measured.") < md.index("## Summary")


def test_truncation_table_in_both_reports(tmp_path) -> None:
    results = make_results()
    results["truncation"] = [
        {"model": "base", "benchmark": "probe", "value": 0.982, "ci_low": 0.94, "ci_high": 0.995,
         "n": 110, "n_scored": 110, "n_failed": 0},
        {"model": "aligned", "benchmark": "probe", "value": 0.0, "ci_low": 0.0, "ci_high": 0.034,
         "n": 110, "n_scored": 110, "n_failed": 0},
    ]
    paths = write_report(results, tmp_path)
    md, html = paths["md"].read_text(), paths["html"].read_text()
    section = md.split("## Cut at the token limit")[1].split("\n## ")[0]
    assert "| base | 98.2% [94.0–99.5] (n=110) |" in section and "max_new_tokens" in section
    assert "| shifted | —" in section  # no row recorded: a dash, never a zero
    assert 'id="truncation"' in html and "98.2%" in html.split('id="truncation"')[1]
    assert json.loads(paths["json"].read_text())["truncation"][0]["value"] == 0.982
