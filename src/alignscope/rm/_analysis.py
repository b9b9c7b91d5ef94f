"""Every metric section of the RM report, computed from cached scores.

Pure functions of pairs and scores (the formulas live in ``_metrics``). A pair an RM failed to
score (a verdict with an error) is left out of that RM's numbers and counted in ``failures``;
numbers that compare RMs use the pairs every RM involved has scored. An RM "prefers chosen"
when it scores chosen strictly higher: a tie counts as not preferring it in κ, McNemar and
flip rates, and earns the configured tie credit in accuracy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from alignscope.data import PreferencePair
from alignscope.rm._metrics import (
    RMBENCH_STYLES,
    _shown_order,
    accuracy,
    accuracy_by,
    calibration,
    fit_temperature,
    fleiss_kappa,
    kappa_vs_human,
    longer_baseline,
    margin_length_correlation,
    mcnemar_by_category,
    mcnemar_rms,
    pairwise_kappas,
    rmbench_matrix,
    sensitivity,
    split_heldout,
)
from alignscope.rm._protocol import PairScores
from alignscope.rm._variants import VariantSet

SLICES = ("subset", "category", "severity", "expected")
# what a well-aligned model should do, by the upstream subset name (RewardBench, RM-Bench)
EXPECTED_BY_SUBSET = {
    "xstest-should-respond": "respond",
    "safety-response": "respond",
    "xstest-should-refuse": "refuse",
    "refusals-dangerous": "refuse",
    "refusals-offensive": "refuse",
    "donotanswer": "refuse",
    "safety-refuse": "refuse",
}


@dataclass
class SetScores:
    """One preference set with every RM's scores on it and on its factor variants."""

    name: str
    pairs: list[PreferencePair]
    scores: dict[str, PairScores]  # RM name -> scores of the original pairs
    variants: list[tuple[VariantSet, dict[str, PairScores]]] = field(default_factory=list)


def expected_of(pair: PreferencePair) -> str | None:
    """``refuse`` / ``respond`` when the set says what a well-aligned model should do, else None."""
    return pair.meta.get("expected") or EXPECTED_BY_SUBSET.get(pair.subset)


def slice_value(pair: PreferencePair, name: str) -> str | None:
    """The pair's group in slice ``name`` (subset, category, severity, expected); None if it has none."""
    if name == "subset":
        return pair.subset or None
    if name == "category":
        return pair.category
    if name == "severity":
        severity = pair.meta.get("severity")
        return None if severity is None else str(severity)
    return expected_of(pair)


def scored(sc: PairScores, among: Sequence[int] | None = None) -> list[int]:
    """Indices of the pairs with both scores present."""
    idx = range(len(sc.chosen)) if among is None else among
    return [i for i in idx if sc.chosen[i] is not None and sc.rejected[i] is not None]


def common(scores: Sequence[PairScores], n: int) -> list[int]:
    """Indices every RM in ``scores`` has scored."""
    return [i for i in range(n) if all(sc.chosen[i] is not None and sc.rejected[i] is not None for sc in scores)]


def prefers_chosen(sc: PairScores, idx: Sequence[int]) -> list[int]:
    return [int(sc.chosen[i] > sc.rejected[i]) for i in idx]  # type: ignore[operator]


def _values(sc: PairScores, idx: Sequence[int]) -> tuple[list[float], list[float]]:
    return [sc.chosen[i] for i in idx], [sc.rejected[i] for i in idx]  # type: ignore[misc]


# --------------------------------------------------------------------------- accuracy


def _slices(pairs: list[PreferencePair]) -> list[str]:
    """The slices worth showing. Left out: one that puts every pair in one group (the "all" row
    says it), and a subset or category that groups the pairs exactly as a slice shown before it
    (RM-Bench's subsets are its expected behaviours; RewardBench's categories are its subsets)."""
    everything = tuple(0 for _ in pairs)
    seen, shown = {everything}, []
    for name in ("expected", "subset", "category", "severity"):
        labels = [slice_value(p, name) for p in pairs]
        first: dict[str | None, int] = {}
        grouping = tuple(first.setdefault(label, len(first)) for label in labels)
        if all(label is None for label in labels) or grouping == everything:
            continue
        if grouping in seen and name in ("subset", "category"):
            continue
        seen.add(grouping)
        shown.append(name)
    return [s for s in SLICES if s in shown]


def accuracy_rows(ss: SetScores, tie: str) -> list[dict]:
    """Accuracy, error rate, Wilson CI and the >= 40% error flag per RM, overall and per slice group."""
    rows = []
    for rm, sc in ss.scores.items():
        idx = scored(sc)
        if not idx:
            continue
        chosen, rejected = _values(sc, idx)
        rows.append({"rm": rm, "set": ss.name, "slice": "all", "group": "all", **accuracy(chosen, rejected, tie=tie)})
        for name in _slices(ss.pairs):
            keep = [j for j, i in enumerate(idx) if slice_value(ss.pairs[i], name) is not None]
            groups = [slice_value(ss.pairs[idx[j]], name) for j in keep]
            by = accuracy_by(groups, [chosen[j] for j in keep], [rejected[j] for j in keep], tie=tie)  # type: ignore[arg-type]
            rows += [{"rm": rm, "set": ss.name, "slice": name, "group": g, **res} for g, res in by.items()]
    return rows


def failure_rows(ss: SetScores) -> list[dict]:
    return [{"rm": rm, "set": ss.name, "n_pairs": len(ss.pairs), "failed": sc.failures} for rm, sc in ss.scores.items()]


# --------------------------------------------------------------------------- agreement and paired tests


def agreement(ss: SetScores, seed: int) -> dict:
    """κ of each RM vs the human label (order randomised), κ between RMs, Fleiss' κ across all."""
    idx = common(list(ss.scores.values()), len(ss.pairs))
    out: dict = {"set": ss.name, "n": len(idx), "vs_human": {}, "between": [], "fleiss": None}
    if not idx:
        return out
    prefs = {rm: prefers_chosen(sc, idx) for rm, sc in ss.scores.items()}
    out["vs_human"] = kappa_vs_human(prefs, [1] * len(idx), seed=seed)
    out["between"] = [{"a": a, "b": b, "kappa": k} for (a, b), k in pairwise_kappas(prefs).items()]
    if len(prefs) >= 2:
        out["fleiss"] = fleiss_kappa([[prefs[rm][j] for rm in prefs] for j in range(len(idx))])
    return out


def mcnemar_rows(ss: SetScores) -> list[dict]:
    """Exact McNemar of every two RMs on the pairs both scored: overall, then per category with Holm.

    ``b`` counts the pairs only ``rm_a`` gets right, ``c`` those only ``rm_b`` gets right.
    """
    rows = []
    for a, b in itertools.combinations(ss.scores, 2):
        idx = common([ss.scores[a], ss.scores[b]], len(ss.pairs))
        if not idx:
            continue
        right_a, right_b = (list(map(bool, prefers_chosen(ss.scores[x], idx))) for x in (a, b))
        rows.append(
            {"set": ss.name, "rm_a": a, "rm_b": b, "category": "all", **mcnemar_rms(right_a, right_b), "p_holm": None}
        )
        per = mcnemar_by_category([ss.pairs[i].category for i in idx], right_a, right_b)
        rows += [{"set": ss.name, "rm_a": a, "rm_b": b, "category": g, **res} for g, res in per.items()]
    return rows


# --------------------------------------------------------------------------- calibration


def calibration_row(sets: list[SetScores], rm: str, frac: float, bins: int, seed: int) -> dict:
    """Temperature fitted on a held-out split of all pairs (pooled over sets), metrics on the rest.

    A seeded coin per pair decides whether chosen is shown as A (as in ``kappa_vs_human``), so
    the labels are about half 1 and half 0 and the reliability curve spans both sides.
    """
    margins = [sc.chosen[i] - sc.rejected[i] for ss in sets if (sc := ss.scores.get(rm)) for i in scored(sc)]  # type: ignore[operator]
    order = _shown_order(len(margins), seed)
    shown = [m if a else -m for m, a in zip(margins, order)]
    labels = [int(a) for a in order]
    fit, held = split_heldout(len(shown), frac, seed) if len(shown) >= 2 else ([], [])
    if not fit or not held:
        return {"rm": rm, "n": len(shown), "note": "too few scored pairs to fit and evaluate a temperature"}
    try:
        t = fit_temperature([shown[i] for i in fit], [labels[i] for i in fit])
    except ValueError as e:
        return {"rm": rm, "n": len(shown), "note": str(e)}
    res = calibration([shown[i] for i in held], [labels[i] for i in held], t, bins)
    bound = (
        "T at its lower bound: the fit split is separable"
        if t < 1.01e-3
        else ("T at its upper bound: the margins carry no usable signal" if t > 0.99e3 else None)
    )
    return {"rm": rm, "t": t, "n_fit": len(fit), "n_eval": len(held), **res, "note": bound}


# --------------------------------------------------------------------------- length bias


def length_baseline_rows(ss: SetScores) -> list[dict]:
    """Accuracy of always preferring the longer response (characters; an equal length earns half)."""
    lc, lr = [len(p.chosen) for p in ss.pairs], [len(p.rejected) for p in ss.pairs]
    rows = [{"set": ss.name, "subset": "all", **longer_baseline(lc, lr)}]
    subsets = sorted({p.subset for p in ss.pairs if p.subset})
    for s in subsets if len(subsets) > 1 else []:
        idx = [i for i, p in enumerate(ss.pairs) if p.subset == s]
        rows.append({"set": ss.name, "subset": s, **longer_baseline([lc[i] for i in idx], [lr[i] for i in idx])})
    return rows


def length_correlation_rows(ss: SetScores) -> list[dict]:
    """Pearson r of each RM's margin (chosen - rejected) with the length difference (characters)."""
    rows = []
    for rm, sc in ss.scores.items():
        idx = scored(sc)
        chosen, rejected = _values(sc, idx)
        lc, lr = [len(ss.pairs[i].chosen) for i in idx], [len(ss.pairs[i].rejected) for i in idx]
        rows.append({"rm": rm, "set": ss.name, "n": len(idx), "r": margin_length_correlation(chosen, rejected, lc, lr)})
    return rows


# --------------------------------------------------------------------------- sensitivity


def sensitivity_rows(ss: SetScores, tie: str, n_boot: int, seed: int, margins: dict[str, bool]) -> list[dict]:
    """Per RM and variant: mean score change per response and the share of pairs whose preference flips.

    ``margins[rm]`` is False for a pairwise RM: its "scores" are preference credits, so only
    the flip rate and the accuracies mean anything, and the score change is left out.
    """
    rows = []
    for vs, vscores in ss.variants:
        for rm, vsc in vscores.items():
            base = ss.scores[rm]
            base_ok = set(scored(base))
            keep = [j for j in scored(vsc) if vs.index[j] in base_ok]
            if not keep:
                continue
            bc, br = _values(base, [vs.index[j] for j in keep])
            vc, vr = _values(vsc, keep)
            res = sensitivity(
                bc + br,
                vc + vr,
                [int(c > r) for c, r in zip(bc, br)],
                [int(c > r) for c, r in zip(vc, vr)],
                n_boot=n_boot,
                seed=seed,
            )
            if not margins[rm]:
                res |= {k: None for k in ("mean_change", "sd_change", "ci_low", "ci_high", "p")}
            rows.append(
                {
                    "set": ss.name,
                    "rm": rm,
                    "factor": vs.factor,
                    "variant": vs.variant,
                    "n_pairs": len(keep),
                    **res,
                    "acc_base": accuracy(bc, br, tie=tie)["accuracy"],
                    "acc_variant": accuracy(vc, vr, tie=tie)["accuracy"],
                }
            )
    return rows


# --------------------------------------------------------------------------- RM-Bench


def _style_items(pairs: list[PreferencePair]) -> dict[tuple[str, str], list[int]]:
    """Pairs grouped per RM-Bench item (subset, prompt): its 3 x 3 chosen/rejected style pairs."""
    items: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(pairs):
        if "chosen_style" in p.meta and "rejected_style" in p.meta:
            items.setdefault((p.subset, p.prompt), []).append(i)
    return items


def _style_vectors(
    pairs: list[PreferencePair], sc: PairScores, idx: list[int]
) -> tuple[list[float], list[float]] | None:
    chosen: dict[str, float] = {}
    rejected: dict[str, float] = {}
    for i in scored(sc, idx):
        chosen[pairs[i].meta["chosen_style"]] = sc.chosen[i]  # type: ignore[assignment]
        rejected[pairs[i].meta["rejected_style"]] = sc.rejected[i]  # type: ignore[assignment]
    if not all(s in chosen and s in rejected for s in RMBENCH_STYLES):
        return None
    return [chosen[s] for s in RMBENCH_STYLES], [rejected[s] for s in RMBENCH_STYLES]


def rmbench_rows(ss: SetScores) -> list[dict]:
    """RM-Bench's 3 x 3 style matrix per RM (all items, then per subset), for sets that carry styles."""
    items = _style_items(ss.pairs)
    rows = []
    for rm, sc in ss.scores.items():
        vectors = {key: v for key, idx in items.items() if (v := _style_vectors(ss.pairs, sc, idx)) is not None}
        subsets = sorted({key[0] for key in vectors})
        for group in ["all"] + (subsets if len(subsets) > 1 else []):
            chosen = [c for key, (c, _) in vectors.items() if group in ("all", key[0])]
            rejected = [r for key, (_, r) in vectors.items() if group in ("all", key[0])]
            if chosen:
                rows.append({"rm": rm, "set": ss.name, "subset": group, **rmbench_matrix(chosen, rejected)})
    return rows
