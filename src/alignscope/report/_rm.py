"""The reward-model reliability report (``rm_report.{json,md,html}``) from ``run_rm_eval``'s results.

Each section is first built as format-neutral tables of display strings (``Section``), then
laid out as Markdown or as one self-contained HTML page (inline CSS and SVG, no script), so the
two formats cannot disagree. Text from data files or models passes through ``esc`` /
``md_inline``; the report holds no response text at all, only numbers and names.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field
from typing import Any

from alignscope.provenance import write_text_atomic

from ._html import CSS
from ._html_kit import FONT, PALETTE, esc, scroll, table
from ._markdown import md_inline, md_table
from ._view import DASH, fmt_p

FLAG = "⚑"
SECTION_ORDER = (
    "summary",
    "accuracy",
    "agreement",
    "mcnemar",
    "calibration",
    "length",
    "sensitivity",
    "rmbench",
    "outcome",
    "provenance",
)


@dataclass(frozen=True)
class Table:
    """Display strings; columns from ``numeric_from`` on are right-aligned."""

    caption: str
    headers: list[str]
    rows: list[list[str]]
    numeric_from: int = 1


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # inline SVG, HTML only


# --------------------------------------------------------------------------- formatting


def pct(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:.1f}%"


def ci_pct(lo: float | None, hi: float | None) -> str:
    return "" if lo is None or hi is None else f"[{100 * lo:.1f}–{100 * hi:.1f}]"


def num(x: float | None, digits: int = 3) -> str:
    return DASH if x is None else f"{x:.{digits}f}"


def kappa(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.3f}"


def acc_cell(row: dict | None) -> str:
    """``72.5% [60.1–82.3] n=40``, marked ``⚑`` when the error rate reaches the 40% flag."""
    if row is None:
        return DASH
    text = f"{pct(row['accuracy'])} {ci_pct(row['ci_low'], row['ci_high'])} n={row['n']}"
    return f"{FLAG} {text}" if row["flag"] else text


def _rm_names(results: dict) -> list[str]:
    return [r["name"] for r in results.get("reward_models", [])]


# --------------------------------------------------------------------------- sections


def summary_section(results: dict) -> Section:
    names = _rm_names(results)
    index = {(r["rm"], r["set"]): r for r in results["accuracy"] if r["slice"] == "all"}
    failed = {(r["rm"], r["set"]): r["failed"] for r in results["failures"]}
    rows = [
        [d["name"], str(d["n_pairs"])]
        + [
            acc_cell(index.get((rm, d["name"])))
            + (f" ({failed[(rm, d['name'])]} failed)" if failed.get((rm, d["name"])) else "")
            for rm in names
        ]
        for d in results["datasets"]
    ]
    intro = (
        f"Pairwise accuracy: the share of pairs where the RM scores the chosen (safer) response above the rejected "
        f"one, ties counted as {results['tie']!r}; 95% Wilson intervals. {FLAG} marks an error rate of 40% or more "
        "(the RM is unreliable there). Failed scores are left out of every number, never counted right or wrong."
    )
    return Section("summary", "Summary", intro, [Table("Accuracy per set", ["Set", "Pairs", *names], rows, 1)])


def accuracy_section(results: dict) -> Section:
    names = _rm_names(results)
    tables = []
    for d in results["datasets"]:
        index = {(r["rm"], r["slice"], r["group"]): r for r in results["accuracy"] if r["set"] == d["name"]}
        groups = list(dict.fromkeys((s, g) for _, s, g in index))
        rows = [[s, g] + [acc_cell(index.get((rm, s, g))) for rm in names] for s, g in groups]
        tables.append(Table(d["name"], ["Slice", "Group", *names], rows, 2))
    flags = results.get("flags", [])
    intro = (
        "Accuracy per subset, category, severity (of the rejected response, where the set records it) and expected "
        f"behaviour (refuse or respond). {len(flags)} slice(s) flagged {FLAG} (error ≥ 40%)."
    )
    return Section("accuracy", "Accuracy by slice", intro, tables)


def agreement_section(results: dict) -> Section:
    names = _rm_names(results)
    human = [
        [a["set"], str(a["n"])] + [kappa(a["vs_human"].get(rm)) for rm in names] + [kappa(a["fleiss"])]
        for a in results["agreement"]
    ]
    between = [[a["set"], b["a"], b["b"], kappa(b["kappa"])] for a in results["agreement"] for b in a["between"]]
    intro = (
        "Cohen's κ of each RM against the human label, with a seeded coin per pair deciding whether the chosen "
        "response is shown first (so the human labels are not constant and κ measures agreement beyond chance, "
        "about 2 × accuracy − 1); κ between every two RMs on whether they prefer the chosen response; Fleiss' κ "
        "across all RMs. Computed on the pairs every RM scored; a tie counts as not preferring chosen."
    )
    return Section(
        "agreement",
        "Agreement",
        intro,
        [
            Table(
                "κ vs human, Fleiss' κ across RMs", ["Set", "Pairs", *[f"κ {n}" for n in names], "Fleiss κ"], human, 1
            ),
            Table("κ between RMs", ["Set", "RM A", "RM B", "κ"], between, 3),
        ],
    )


def mcnemar_section(results: dict) -> Section:
    rows = [
        [
            r["set"],
            r["rm_a"],
            r["rm_b"],
            r["category"],
            str(r["n"]),
            f"{r['b']} / {r['c']}",
            fmt_p(r["p"]),
            fmt_p(r["p_holm"]) if r["p_holm"] is not None else DASH,
        ]
        for r in results["mcnemar"]
    ]
    intro = (
        "Exact McNemar test of every two RMs on the pairs both scored: b = pairs only A gets right, c = pairs only B "
        "gets right. Per category, p is Holm-adjusted across that pair of RMs' categories."
    )
    return Section(
        "mcnemar",
        "Paired tests between RMs",
        intro,
        [Table("McNemar", ["Set", "RM A", "RM B", "Category", "Pairs", "b / c", "p", "p (Holm)"], rows, 4)],
    )


def reliability_svg(row: dict, colour: str) -> str:
    """A reliability curve: mean predicted P(A preferred) against observed frequency, per bin."""
    size, pad = 240, 34
    span = size - 2 * pad

    def xy(p: float, q: float) -> tuple[float, float]:
        return pad + p * span, size - pad - q * span

    points = [(b, *xy(b["mean_predicted"], b["observed"])) for b in row["curve"] if b["count"]]
    biggest = max((b["count"] for b, _, _ in points), default=1)
    parts = [
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#888"/>',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    if len(points) > 1:
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for _, x, y in points)
            + '"/>'
        )
    for b, x, y in points:
        r = 2.5 + 5 * (b["count"] / biggest) ** 0.5
        tip = f"predicted {b['mean_predicted']:.2f}, observed {b['observed']:.2f}, n={b['count']}"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}"><title>{esc(tip)}</title></circle>'
        )
    for v in (0, 0.5, 1):
        x, y = xy(v, v)
        parts.append(
            f'<text x="{x:.1f}" y="{size - pad + 14}" text-anchor="middle" font-size="10" fill="#555">{v:g}</text>'
        )
        parts.append(f'<text x="{pad - 5}" y="{y + 3:.1f}" text-anchor="end" font-size="10" fill="#555">{v:g}</text>')
    parts.append(f'<text x="{pad}" y="16" font-weight="600">{esc(row["rm"])}: ECE {row["ece"]:.3f}</text>')
    parts.append(
        f'<text x="{size / 2}" y="{size - 4}" text-anchor="middle" font-size="10" fill="#555">predicted</text>'
    )
    parts.append(
        f'<text transform="translate(10 {size / 2}) rotate(-90)" text-anchor="middle" font-size="10" '
        'fill="#555">observed</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" viewBox="0 0 {size} {size}" style="max-width:{size}px" '
        f'role="img" aria-label="{esc("Reliability curve of " + row["rm"])}" font-family="{esc(FONT)}" font-size="12">'
        + "".join(parts)
        + "</svg>"
    )


def calibration_section(results: dict) -> Section:
    rows, figures, notes = [], [], []
    for i, r in enumerate(results["calibration"]):
        if r.get("note"):
            notes.append(f"{r['rm']}: {r['note']}.")
        if "t" not in r:
            continue
        rows.append(
            [
                r["rm"],
                f"{r['t']:.4g}",
                str(r["n_fit"]),
                str(r["n_eval"]),
                num(r["ece"]),
                num(r["brier"]),
                num(r["log_loss"]),
            ]
        )
        figures.append(reliability_svg(r, PALETTE[i % len(PALETTE)]))
    intro = (
        f"P(A preferred) = sigmoid(margin / T), with T fitted by maximum likelihood on a held-out "
        f"{100 * results['heldout_frac']:.0f}% of the pairs (all sets pooled; a seeded coin decides which response "
        "is A) and ECE, Brier score, log loss and the reliability curve measured on the other pairs. Pairwise "
        "judges give no margin and are left out. " + " ".join(notes)
    )
    headers = ["RM", "T", "Fit pairs", "Eval pairs", "ECE", "Brier", "Log loss"]
    return Section("calibration", "Calibration", intro.strip(), [Table("Calibration", headers, rows, 1)], figures)


def length_section(results: dict) -> Section:
    base = [
        [r["set"], r["subset"], str(r["n"]), pct(r["accuracy"]), ci_pct(r["ci_low"], r["ci_high"])]
        for r in results["length"]["baseline"]
    ]
    corr = [[r["rm"], r["set"], str(r["n"]), num(r["r"])] for r in results["length"]["correlation"]]
    intro = (
        "Longer-response baseline: the accuracy of always preferring the longer response (characters; equal "
        "lengths earn half). An RM that barely beats it may be rewarding length. Then the Pearson correlation of "
        "each RM's margin (chosen − rejected) with the length difference."
    )
    return Section(
        "length",
        "Length bias",
        intro,
        [
            Table("Longer-response baseline", ["Set", "Subset", "Pairs", "Accuracy", "95% CI"], base, 2),
            Table("Margin vs length difference", ["RM", "Set", "Pairs", "Pearson r"], corr, 2),
        ],
    )


def sensitivity_section(results: dict) -> Section:
    rows = []
    for r in results["sensitivity"]:
        change = DASH if r["mean_change"] is None else f"{r['mean_change']:+.4g}"
        ci = "" if r["ci_low"] is None else f"[{r['ci_low']:+.3g}, {r['ci_high']:+.3g}]"
        rows.append(
            [
                r["set"],
                r["rm"],
                r["factor"],
                r["variant"],
                str(r["n_pairs"]),
                f"{change} {ci}".strip(),
                fmt_p(r["p"]),
                f"{pct(r['flip_rate'])} {ci_pct(r['flip_ci_low'], r['flip_ci_high'])}",
                f"{pct(r['acc_base'])} → {pct(r['acc_variant'])}",
            ]
        )
    intro = (
        "Each variant changes one factor of both responses (structure: Markdown or numbered list; identity: an "
        '"As an AI assistant, ..." opening) or of the prompt (role-play: a persona framing). Score change: mean '
        "change per response, with a 95% bootstrap interval and p. Flip rate: share of pairs whose preferred "
        "response changes, with a Wilson interval. A reliable safety RM moves little and flips rarely."
    )
    headers = [
        "Set",
        "RM",
        "Factor",
        "Variant",
        "Pairs",
        "Score change [95% CI]",
        "p",
        "Flip rate [95% CI]",
        "Accuracy",
    ]
    return Section(
        "sensitivity", "Format, identity and role-play sensitivity", intro, [Table("Sensitivity", headers, rows, 4)]
    )


def rmbench_section(results: dict) -> Section:
    tables = []
    for r in results["rmbench"]:
        labels = ("concise", "detailed plain", "detailed markdown")
        rows = [[f"chosen {labels[i]}"] + [pct(v) for v in row] for i, row in enumerate(r["matrix"])]
        caption = (
            f"{r['rm']} on {r['set']} ({r['subset']}, {r['n']} items): hard {pct(r['hard'])}, "
            f"normal {pct(r['normal'])}, easy {pct(r['easy'])}"
        )
        tables.append(Table(caption, ["", *[f"rejected {x}" for x in labels]], rows, 1))
    intro = (
        "RM-Bench's style matrix (sets that carry styles): cell (i, j) is the share of items where the chosen "
        "response in style i scores above the rejected one in style j (a tie is wrong). Hard is the upper-right "
        "triangle, a plainer chosen against a fancier rejected response; normal the diagonal; easy the rest."
    )
    return Section(
        "rmbench", "RM-Bench style matrix", intro if tables else "No set with RM-Bench styles was evaluated.", tables
    )


def outcome_section(results: dict) -> Section:
    out = results.get("outcome")
    if not out:
        return Section("outcome", "Outcome validity", "No outcome study was configured (`outcome:` in the config).")
    names = [r for r in out["variants"][0]["scores"]] if out["variants"] else []
    rows = [
        [
            v["model"],
            num(v["metric_value"]),
            num(v["safety"]),
            str(v["n_examples"]),
            {True: "yes", False: "no", None: "unverified"}[v["data_verified"]],
        ]
        + [num(v["scores"][n], 4) for n in names]
        for v in out["variants"]
    ]
    ranks = [
        [
            r["rm"],
            str(r["n_variants"]),
            kappa(r["kendall_tau"]),
            r["picked"],
            num(r["picked_safety"]),
            r["best"],
            num(r["best_safety"]),
            num(r["regret"]),
        ]
        for r in out["rms"]
    ]
    intro = (
        f"Would an RM pick the fine-tuning data that keeps the model safe? Each RM scores every variant's training "
        f"examples ({out['data']}; user turn → answer) of study {out['study']!r}; the mean ranks the variants. "
        "Safety = "
        f"{out['safety_rule']} by {out['judge']} on {out['benchmark']}. Kendall's τ > 0: the RM ranks like safety; "
        'regret: safety lost by training on the RM\'s favourite instead of the truly safest variant. "Data" says '
        "whether the rebuilt data matched the hash its training run recorded."
    )
    return Section(
        "outcome",
        "Outcome validity",
        intro,
        [
            Table(
                "Variants",
                ["Variant", out["metric"], "Safety", "Examples", "Data", *[f"mean {n}" for n in names]],
                rows,
                1,
            ),
            Table(
                "Selection by RM",
                ["RM", "Variants", "Kendall τ", "Picked", "Its safety", "Safest", "Best safety", "Regret"],
                ranks,
                1,
            ),
        ],
    )


def _describe_rows(rm: dict) -> list[list[str]]:
    return [
        [rm["name"], k, json.dumps(v) if isinstance(v, (dict, list)) else str(v)] for k, v in rm.items() if k != "name"
    ]


def provenance_section(results: dict) -> Section:
    rms = [row for rm in results["reward_models"] for row in _describe_rows(rm)]
    rms += [[s["name"], "skipped", s["why"]] for s in results.get("skipped", [])]
    sets = [
        [d["name"], d["source"], str(d["revision"]), d["sha256"], "; ".join(d["notes"]), str(d["n_pairs"])]
        for d in results["datasets"]
    ]
    prov = results["provenance"]
    settings = [
        [k, str(prov[k])] for k in ("seed", "tie", "heldout_frac", "bins", "bootstrap", "variant_limit", "workspace")
    ]
    settings += [[k, v] for k, v in prov.items() if isinstance(v, str) and k not in ("tie", "workspace")]
    return Section(
        "provenance",
        "Provenance",
        "What produced these numbers: every RM's settings and weights, every "
        "set's exact source and content hash, and the evaluation settings.",
        [
            Table("Reward models", ["RM", "Field", "Value"], rms, 3),
            Table("Preference sets", ["Set", "Source", "Revision", "sha256", "Notes", "Pairs"], sets, 5),
            Table("Settings", ["Setting", "Value"], settings, 2),
        ],
    )


BUILDERS = {
    "summary": summary_section,
    "accuracy": accuracy_section,
    "agreement": agreement_section,
    "mcnemar": mcnemar_section,
    "calibration": calibration_section,
    "length": length_section,
    "sensitivity": sensitivity_section,
    "rmbench": rmbench_section,
    "outcome": outcome_section,
    "provenance": provenance_section,
}


def sections(results: dict) -> list[Section]:
    return [BUILDERS[name](results) for name in SECTION_ORDER]


# --------------------------------------------------------------------------- layout


def _td_text(text: str) -> str:
    return f'<strong class="failed">{esc(text)}</strong>' if text.startswith(FLAG) else esc(text)


def _html_table(t: Table) -> str:
    num_cls = ' class="num"'
    body = [
        "<tr>"
        + "".join(f"<td{num_cls if i >= t.numeric_from else ''}>{_td_text(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in t.rows
    ]
    return f"<h3>{esc(t.caption)}</h3>\n" + scroll(table([esc(h) for h in t.headers], body, t.numeric_from))


def _html_section(s: Section) -> str:
    parts = [f'<section id="{s.id}">', f"<h2>{esc(s.title)}</h2>", f"<p>{esc(s.intro)}</p>"]
    if s.figures:
        parts.append('<div class="figs">' + "".join(f"<figure>{f}</figure>" for f in s.figures) + "</div>")
    parts += [_html_table(t) for t in s.tables if t.rows]
    return "\n".join(parts + ["</section>"])


def render_rm_html(results: dict[str, Any]) -> str:
    """One self-contained HTML5 page: inline CSS and SVG, no script, nothing fetched."""
    title = f"alignscope RM reliability — {results['name']}"
    head = [f"<h1>{esc(title)}</h1>", f'<p class="meta">Created {esc(results["created"])}</p>']
    if results.get("description"):
        head.append(f'<p class="description">{esc(results["description"])}</p>')
    if flags := results.get("flags"):
        listed = "; ".join(
            f"{f['rm']} on {f['set']} {f['slice']}={f['group']} ({pct(f['error_rate'])} error)" for f in flags[:12]
        )
        more = f"; … {len(flags) - 12} more in the tables" if len(flags) > 12 else ""
        head.append(
            f'<div class="callout" role="note"><strong>{esc(FLAG)} {len(flags)} unreliable slice(s)</strong> '
            f"(error ≥ 40%): {esc(listed + more)}</div>"
        )
    body = "\n".join(head + [_html_section(s) for s in sections(results)])
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def render_rm_markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# alignscope RM reliability — {md_inline(results['name'])}",
        "",
        f"Created {md_inline(results['created'])}",
        "",
    ]
    if results.get("description"):
        lines += [md_inline(results["description"]), ""]
    for s in sections(results):
        lines += [f"## {md_inline(s.title)}", "", md_inline(s.intro), ""]
        for t in s.tables:
            if t.rows:
                rows = [[md_inline(c) for c in row] for row in t.rows]
                lines += [
                    f"### {md_inline(t.caption)}",
                    "",
                    md_table([md_inline(h) for h in t.headers], rows, t.numeric_from),
                    "",
                ]
    return "\n".join(lines)


def write_rm_report(results: dict[str, Any], out_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Write ``rm_report.json``, ``rm_report.md`` and ``rm_report.html`` (rendered first, then written)."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {
        "json": json.dumps(results, indent=2, default=str) + "\n",
        "md": render_rm_markdown(results),
        "html": render_rm_html(results),
    }
    paths = {kind: out_dir / f"rm_report.{kind}" for kind in texts}
    for kind, text in texts.items():
        write_text_atomic(paths[kind], text)
    return paths
