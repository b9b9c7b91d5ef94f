"""Study-level statistics from evaluated rows: paired comparisons, flips, grids, seed aggregates."""

import pytest

from alignscope.analysis import CellInfo, Pair, compare_pairs, factor_pairs, flips, grid_summaries, seed_aggregates
from alignscope.data import EvalPrompt, EvalRow
from tests.conftest import eval_row


def rows_for(model: str, labels: str, expected: str = "refuse", judge: str = "keyword", bench: str = "probe") -> list[EvalRow]:
    """One row per character: r = refusal, c = compliance, x = failed verdict."""
    out = []
    for i, ch in enumerate(labels):
        prompt = EvalPrompt(f"p{i}", f"placeholder harmful request {i}", category="A" if i % 2 else "B", expected=expected)
        out.append(eval_row(prompt, model=model, benchmark=bench, judge=judge, label={"r": "refusal", "c": "compliance"}.get(ch),
                            error="boom" if ch == "x" else None))
    return out


def test_parent_comparison_counts_discordant_prompts_and_tests_them():
    rows = rows_for("aligned", "rrrrrrrrrrrc") + rows_for("tuned", "cccccccccccr")
    (row,) = compare_pairs(rows, [Pair("aligned", "tuned", "parent")], n_boot=500)
    assert (row["a_value"], row["b_value"]) == pytest.approx((1 / 12, 11 / 12))
    assert row["discordant"] == [1, 11]  # only aligned complies: p11; only tuned: p0..p10
    assert row["test"] == "mcnemar-exact" and row["p"] < 0.01
    assert row["ci_low"] <= row["diff"] <= row["ci_high"] and row["ci_low"] > 0


def test_failed_verdicts_drop_the_pair_not_the_prompt_set():
    rows = rows_for("a", "rrxr") + rows_for("b", "cxrr")
    (row,) = compare_pairs(rows, [Pair("a", "b", "requested")], n_boot=200)
    assert row["n"] == 2  # p1 failed for b, p2 failed for a


def test_over_refusal_is_compared_on_benign_prompts_separately():
    rows = rows_for("a", "rr") + rows_for("a", "rc", expected="comply") + rows_for("b", "cc") + rows_for("b", "cc", expected="comply")
    got = {r["metric"]: r for r in compare_pairs(rows, [Pair("a", "b", "parent")], n_boot=200)}
    assert set(got) == {"asr", "over_refusal"}
    assert got["over_refusal"]["diff"] == pytest.approx(-0.5)


def test_flips_list_the_prompts_a_fine_tune_broke_and_fixed():
    rows = rows_for("aligned", "rrcr") + rows_for("tuned", "ccrr")
    (f,) = flips(rows, {"tuned": "aligned"})
    assert [p["prompt_id"] for p in f["broken"]] == ["p0", "p1"]
    assert [p["prompt_id"] for p in f["fixed"]] == ["p2"]
    assert f["n"] == 4 and f["parent"] == "aligned"


def test_factor_pairs_differ_in_exactly_one_axis_with_the_same_seed():
    cells = [CellInfo(f"g[{s},{r}]", "g", {"structure": s, "roleplay": r}, None)
             for s in ("plain", "markdown") for r in (False, True)]
    pairs = factor_pairs(cells)
    assert len(pairs) == 4  # a 2x2 square has 4 edges, no diagonals
    assert {p.why for p in pairs} == {"factor:structure", "factor:roleplay"}


def test_seed_aggregates_average_cells_over_seeds_with_a_t_interval():
    cells = [CellInfo(f"g[lr=1,seed={s}]", "g", {"lr": 1}, s) for s in (0, 1, 2)]
    metrics = [{"model": c.model, "benchmark": "probe", "judge": "keyword", "metric": "asr", "value": v}
               for c, v in zip(cells, (0.1, 0.2, 0.3))]
    (agg,) = seed_aggregates(metrics, cells)
    assert agg["value"] == pytest.approx(0.2) and agg["n_seeds"] == 3
    assert agg["ci_high"] - agg["value"] == pytest.approx(4.3027 * 0.1 / 3 ** 0.5, rel=1e-3)


def test_grid_summary_keeps_study_order_and_tells_numeric_from_factorial():
    cells = [CellInfo(f"a[lr={lr},bs={bs}]", "a", {"lr": lr, "bs": bs}, None) for lr in (2e-5, 5e-5) for bs in (16, 8)]
    cells += [CellInfo(f"p[{s}]", "p", {"structure": s}, None) for s in ("plain", "markdown")]
    a, p = grid_summaries(cells, {c.model: "aligned" for c in cells})
    assert a["values"] == {"lr": [2e-5, 5e-5], "bs": [16, 8]} and a["kind"] == "numeric" and a["parent"] == "aligned"
    assert p["kind"] == "factorial" and p["seeds"] == [None]
