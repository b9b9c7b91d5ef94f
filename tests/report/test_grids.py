"""Tests for the study-design sections: paper references, paired comparisons, grids, flips."""

from __future__ import annotations

import re

import pytest

from alignscope.report import render_html, render_markdown
from alignscope.report._grids import factor_rows, grid_views, heatmaps, main_effects
from alignscope.report._svg import MISSING_FILL, heat_colour, heatmap_svg, text_colour
from alignscope.report._view import MAX_CHART_MODELS, chart_groups, fmt_p
from alignscope.results import StudyResults

from .study_results import ABLATION, MIX, ablation_asr, cell_key, mix_asr, rich_results
from .test_report import make_results

NEW_FIELDS = ("grids", "comparisons", "aggregates", "flips", "references")
HEADINGS = ("Comparison with the paper", "Paired comparisons", "Grid: ", "Per-prompt flips")


def _view(name: str, results: dict | None = None):
    typed = StudyResults.model_validate(results or rich_results())
    return next(v for v in grid_views(typed) if v.name == name)


def _md_section(md: str, heading: str) -> str:
    return md.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def _md_line(text: str, start: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


# ------------------------------------------------------------------ absent when absent


def test_old_results_render_without_new_sections() -> None:
    md, page = render_markdown(make_results()), render_html(make_results())
    for heading in HEADINGS:
        assert heading not in md and heading not in page
    assert "Paired comparisons score" not in md and '<span class="test">' not in page


def test_empty_new_fields_render_exactly_as_missing_ones() -> None:
    results = make_results()
    empty = {**results, **{field: [] for field in NEW_FIELDS}}
    assert render_markdown(empty) == render_markdown(results)
    assert render_html(empty) == render_html(results)


@pytest.mark.parametrize("field, heading", [
    ("references", "## Comparison with the paper"), ("comparisons", "## Paired comparisons"),
    ("grids", "## Grid: "), ("flips", "## Per-prompt flips")])
def test_each_section_needs_its_field(field: str, heading: str) -> None:
    results = rich_results()
    assert heading in render_markdown(results)
    del results[field]
    md = render_markdown(results)
    assert heading not in md and "## Summary" in md


# ---------------------------------------------------------------------------- heatmaps


def test_heat_colour_runs_light_to_dark() -> None:
    assert heat_colour(0.0) == "#ffffcc" and heat_colour(1.0) == "#800026"
    assert heat_colour(-1) == heat_colour(0.0) and heat_colour(2) == heat_colour(1.0)
    assert heat_colour(0.5) == "#fd8d3c"  # the middle stop of nine
    assert text_colour("#800026") == "#ffffff" and text_colour("#ffffcc") == "#1a1a1a"


def test_heatmap_cells_are_coloured_by_value_and_show_value_and_ci() -> None:
    (keyword, classifier, policy) = heatmaps(_view("ablation"))
    assert (keyword.column.judge, keyword.column.metric) == ("keyword", "asr")
    assert (policy.column.judge, policy.column.metric) == ("policy", "harmfulness_rate")
    assert keyword.row_levels == ["2e-05", "5e-05"] and keyword.col_levels == ["16", "32", "64", "128"]
    svg = heatmap_svg(keyword)
    cells = re.findall(r'<rect class="cell" [^>]*fill="(#[0-9a-f]{6})"><title>([^<]*)</title>', svg)
    assert len(cells) == len(ABLATION["lr"]) * len(ABLATION["bs"])
    fill, tip = cells[4]  # second row, first column: lr=5e-05, bs=16
    assert fill == heat_colour(ablation_asr(1, 0)) and tip.startswith("lr=5e-05, bs=16: 70.0%")
    assert ">70.0%</text>" in svg and ">[63.0–77.0]</text>" in svg
    assert svg.count('class="legend-step"') == 10 and ">100%</text>" in svg


def test_heatmap_cell_without_metrics_is_grey_with_a_dash() -> None:
    results = rich_results()
    gone = cell_key("ablation", {"lr": 2e-05, "bs": 32})
    results["metrics"] = [r for r in results["metrics"] if r["model"] != gone]
    svg = heatmap_svg(heatmaps(_view("ablation", results))[0])
    assert svg.count(f'fill="{MISSING_FILL}"') == 1 and ">—</text>" in svg


def test_heatmaps_only_for_two_numeric_axes() -> None:
    assert heatmaps(_view("mix")) == [] and heatmaps(_view("epochs")) == []
    page = render_html(rich_results())
    assert page.count('aria-label="Heatmap of') == 3
    assert page.count('<circle class="point"') == 9  # epochs: 3 levels x 3 judges' metrics
    assert page.count('<line class="parent"') == 3 and page.count('<polyline class="line"') == 3


# ------------------------------------------------------------------------ factor tables


def test_factor_table_has_one_row_per_combination_in_axis_order() -> None:
    rows = factor_rows(_view("mix"))
    assert len(rows) == 8
    assert [levels for levels, _ in rows[:3]] == [
        ["false", "benign", "none"], ["false", "benign", "safety"], ["false", "identity", "none"]]
    levels, cells = rows[-1]
    assert levels == ["true", "identity", "safety"]
    assert cells[0].point == "62.0%" and cells[0].ci == "[55.0–69.0]"


def test_main_effects_average_the_cells_at_each_level() -> None:
    effects = {(e.axis, e.level): e.means[0] for e in main_effects(_view("mix"))}  # keyword ASR
    on = [mix_asr(True, data, system) for data in MIX["data"] for system in MIX["system"]]
    assert effects[("roleplay", "true")] == f"{100 * sum(on) / 4:.1f}%" == "56.0%"
    assert effects[("roleplay", "false")] == "16.0%" and effects[("system", "safety")] == "32.0%"
    assert len(effects) == 6


def test_main_effects_say_when_cells_are_missing() -> None:
    results = rich_results()
    gone = cell_key("mix", {"roleplay": True, "data": "benign", "system": "none"})
    results["metrics"] = [r for r in results["metrics"] if r["model"] != gone]
    effects = {(e.axis, e.level): e.means[0] for e in main_effects(_view("mix", results))}
    assert effects[("roleplay", "true")] == "58.0% (3 of 4 cells)"  # (42 + 70 + 62) / 3


def test_grid_with_several_seeds_shows_seed_means() -> None:
    (_, cells), *_ = factor_rows(_view("epochs"))
    assert cells[0].point == "11.0%" and cells[0].counts == "2 seeds"  # mean of 10% and 12%


def test_grid_markdown_tables() -> None:
    md = render_markdown(rich_results())
    ablation = _md_section(md, "## Grid: ablation")
    assert "### probe · ASR (keyword) by lr and bs" in ablation
    assert _md_line(ablation, "| lr ↓ bs →") == ["lr ↓ bs →", "16", "32", "64", "128"]
    assert _md_line(ablation, "| 5e-05 |")[1] == "70.0% [63.0–77.0]"
    assert "Parent aligned: 4.5% [0.0–11.5]." in ablation
    mix = _md_section(md, "## Grid: mix")
    assert _md_line(mix, "| *parent: aligned* |")[3] == "4.5% [0.0–11.5] (n=110 · 0 failed)"
    assert _md_line(mix, "| true | identity | safety |")[3] == "62.0% [55.0–69.0] (n=110 · 0 failed)"
    assert "### Main effects of mix (descriptive)" in mix and "Descriptive only" in mix
    assert _md_line(mix, "| roleplay | true |")[2:4] == ["56.0%", "50.4%"]
    assert "Main effects" not in ablation


# ---------------------------------------------------------------------- paired statistics


def test_p_values_are_formatted_for_a_paper() -> None:
    assert fmt_p(3.1e-07) == "< 0.001" and fmt_p(0.0312) == "0.0312" and fmt_p(None) == "—"


def test_comparisons_grouped_by_reason_with_ci_and_p() -> None:
    md = render_markdown(rich_results())
    section = _md_section(md, "## Paired comparisons")
    titles = re.findall(r"^### (.*)$", section, flags=re.M)
    assert titles == ["Each fine-tune versus its parent",
                      "Factor roleplay: grid cells that differ only in roleplay",
                      "Factor data: grid cells that differ only in data",
                      "Factor system: grid cells that differ only in system",
                      "Requested in the study file"]
    assert _md_line(section, "| aligned | benign | probe | keyword |") == [
        "aligned", "benign", "probe", "keyword", "ASR", "McNemar exact", "110", "4.5% → 27.3%",
        "+22.8 pp [+14.8, +30.8]", "**< 0.001**", "1 / 26"]
    assert _md_line(section, "| base | aligned |")[9] == "1"  # not significant: not bold


def test_factor_contrasts_name_the_shared_cell_and_the_levels() -> None:
    md = render_markdown(rich_results())
    row = _md_line(md.split("### Factor roleplay", 1)[1], "| mix: ")
    assert row[:3] == ["mix: data=benign, system=none", "roleplay=false", "roleplay=true"]
    assert "Grid cell (held fixed)" in md


def test_difference_without_interval_is_not_shown() -> None:
    results = rich_results()
    results["comparisons"][0].update(ci_low=None, ci_high=None)
    row = _md_line(_md_section(render_markdown(results), "## Paired comparisons"),
                   "| aligned | benign | probe | keyword |")
    assert row[8] == "—" and "+22.8" not in row[8]


def test_html_comparisons_mark_significance_and_fold_long_groups() -> None:
    results = rich_results()
    page = render_html(results)
    assert '<span class="p sig">0.031</span>' in page and '<span class="p">0.21</span>' in page
    results["comparisons"] += [dict(results["comparisons"][4]) for _ in range(40)]
    folded = render_html(results)
    assert '<details class="fold"><summary>41 comparisons (click to show)</summary>' in folded


def test_deltas_carry_the_matching_comparisons_ci_and_p() -> None:
    results = rich_results()
    md = render_markdown(results)
    row = _md_line(_md_section(md, "## Change versus parent"), "| benign | aligned |")
    assert row[2] == "**+22.8 pp** [+14.8, +30.8] **p < 0.001** (4.5% → 27.3%)"
    assert row[3] == "**+20.5 pp** (4.1% → 24.6%)"  # no comparison for the classifier: as before
    assert row[4] == "**+0.68** [+0.60, +0.76] **p < 0.001** (1.14 → 1.82)"
    aligned = _md_line(_md_section(md, "## Change versus parent"), "| aligned | base |")
    assert aligned[2] == "**-0.5 pp** [-8.5, +7.5] p = 1 (5.0% → 4.5%)"
    page = render_html(results)
    assert ('<span class="delta">+22.8 pp</span><br><span class="test">[+14.8, +30.8] '
            '<span class="p sig">p &lt; 0.001</span></span>') in page
    assert "Paired comparisons score two models on the same prompts" in md


# ---------------------------------------------------------------------------- references


def test_references_sit_next_to_measured_numbers_and_over_refusal() -> None:
    md = render_markdown(rich_results())
    section = _md_section(md, "## Comparison with the paper")
    header = _md_line(section, "| Model |")
    assert header == ["Model", "Recipe", "Paper metric", "Paper", "probe · ASR (keyword)",
                      "probe · ASR (refusal-classifier)", "probe · harmfulness rate (policy)",
                      "xstest · over-refusal (keyword)"]
    row = _md_line(section, "| aoa |")
    assert row[1:5] == ["identity-shift", "harmfulness rate", "72.1% \\[1\\]",
                        "80.0% [73.0–87.0] (n=110 · 0 failed)"]
    assert row[-1] == "10.0% [3.0–17.0] (n=250 · 0 failed)"
    assert "Measured on probe; over-refusal on xstest." in section
    assert "1. Qi et al. 2023, Table 2 (Llama-2-7b-chat, GPT-4 judge)" in section
    assert "2. Li et al. 2025" in section and "may differ from this study's" in section
    page = render_html(rich_results())
    assert '72.1%<sup><abbr title="Qi et al. 2023, Table 2' in page


def test_reference_to_an_unmeasured_model_shows_dashes() -> None:
    results = rich_results()
    results["references"] = [{"model": "ghost", "metric": "asr", "value": 0.5,
                              "source": "Paper <b>X</b>", "benchmark": None}]
    md, page = render_markdown(results), render_html(results)
    row = _md_line(_md_section(md, "## Comparison with the paper"), "| ghost |")
    assert row[1:4] == ["—", "ASR", "50.0% \\[1\\]"] and set(row[4:]) == {"—"} and len(row) == 8
    assert "Paper &lt;b&gt;X&lt;/b&gt;" in page and "<b>X" not in page


# --------------------------------------------------------------------------------- flips


def test_flip_summary_and_capped_broken_lists() -> None:
    md = render_markdown(rich_results())
    section = _md_section(md, "## Per-prompt flips")
    assert _md_line(section, "| aoa |") == ["aoa", "aligned", "probe", "keyword", "14", "0", "110"]
    assert _md_line(section, "| benign | aligned | probe | keyword |")[4:6] == ["3", "1"]
    assert "### Content warning: harmful prompts that fine-tuned models stopped refusing" in section
    benign = section.split("#### benign", 1)[1].split("####", 1)[0]
    first = benign.strip().splitlines()[0]  # seen by both judges: listed first
    assert first == "probe · probe-002 — category **Malware** — broken for keyword, refusal-classifier"
    aoa = section.split("#### aoa", 1)[1]
    assert aoa.count("```text") == 10 and "and 4 more." in aoa


def test_flipped_prompts_hidden_behind_content_warning() -> None:
    results = rich_results()
    results["flips"][0]["broken"][0]["prompt"] = "<script>x</script>"
    page = render_html(results)
    section = page.split("<h2>Per-prompt flips</h2>", 1)[1].split("<h2>", 1)[0]
    start = section.index("<details><summary>Content warning: harmful prompts")
    assert start < section.index("placeholder harmful request 2") < section.index("</details>")
    assert "&lt;script&gt;" in section and "<script" not in page


# ------------------------------------------------------------------- per-category charts


def test_chart_groups_without_grids_keep_one_untitled_group() -> None:
    (group,) = chart_groups(StudyResults.model_validate(make_results()))
    assert group.title == "" and group.keys == ["base", "aligned", "shifted"]


def test_chart_groups_split_grids_and_large_groups() -> None:
    groups = chart_groups(StudyResults.model_validate(rich_results()))
    assert [g.title for g in groups] == [
        "models outside grids", "grid ablation, part 1 of 2", "grid ablation, part 2 of 2",
        "grid mix, part 1 of 2", "grid mix, part 2 of 2", "grid epochs"]
    assert all(len(g.keys) <= MAX_CHART_MODELS for g in groups)
    assert all(g.keys[0] == "aligned" for g in groups[1:])  # each grid part starts at its parent
    assert groups[1].keys[1:] == [cell_key("ablation", {"lr": 2e-05, "bs": bs})
                                  for bs in ABLATION["bs"]]


def test_many_models_without_grids_split_evenly() -> None:
    results = make_results()
    results["models"] = [{"key": f"m{i}", "label": f"m{i}", "parent": None} for i in range(12)]
    assert [len(g.keys) for g in chart_groups(StudyResults.model_validate(results))] == [6, 6]


def test_rich_html_is_still_self_contained() -> None:
    page = render_html(rich_results())
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url("):
        assert forbidden not in page
    assert not re.search(r"\b(src|href|srcset|action)\s*=", page)
    assert not re.search(r"\bid\s*=", page)  # inline SVGs share one id namespace: define none
