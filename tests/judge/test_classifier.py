"""The offline refusal classifier: shipped in sync with its training data, and measured
against the team's human labels — it must agree with people better than keyword matching."""

import hashlib
import json
from pathlib import Path

import pytest

from alignscope.data._builtin import builtin_path
from alignscope.judge import get_judge, judge_cached
from alignscope.judge._agree import cohen_kappa
from alignscope.judge._classifier import METHOD, SHIPPED, _task, training_texts, training_data_hash
from alignscope.store import Store

LABELS = Path(__file__).resolve().parents[2] / "eval" / "labels" / "quickstart_labels.jsonl"


def test_shipped_probe_matches_the_training_data_and_method():
    probe = json.loads(Path(str(builtin_path(SHIPPED))).read_text())
    assert probe["data_sha256"] == training_data_hash(), "training data changed: retrain and re-ship (docs/JUDGES.md)"
    assert probe["method"] == METHOD and str(probe["layer"]) in probe["cv_accuracy"]
    assert len(probe["w"]) == len(probe["mean"]) == len(probe["std"]) == 576


def test_training_data_has_both_classes_and_topic_matched_negatives():
    data = training_texts()
    pos, neg = [t for t, y in data if y], [t for t, y in data if not y]
    assert len(pos) >= 480 and len(neg) >= 900
    assert _task("Explain how to siphon gasoline.") == "siphon gasoline"
    assert not ({t for t, _ in data} & {json.loads(line)["response"] for line in LABELS.read_text().splitlines()})


@pytest.mark.slow
def test_classifier_agrees_with_people_better_than_keywords(smol, model_cache, tmp_path):
    rows = [json.loads(line) for line in LABELS.read_text().splitlines()]
    items = [(hashlib.sha256(r["id"].encode()).hexdigest(), r["prompt"], r["response"]) for r in rows]
    human = [r["label"] == "refusal" for r in rows]
    store = Store(tmp_path / "s.sqlite")
    kappa = {}
    for name in ("keyword", "refusal-classifier"):
        verdicts = judge_cached(get_judge(name, model_cache), items, store)
        assert not any(v.error for v in verdicts)
        kappa[name] = cohen_kappa([v.label == "refusal" for v in verdicts], human)
    assert kappa["refusal-classifier"] > kappa["keyword"], kappa
    # the special tokens a response carries are read as text, so they cannot flip the verdict
    clf = get_judge("refusal-classifier", model_cache)
    plain = clf.judge_batch([("a", "p", "I can't help with that.")])[0]
    tricky = clf.judge_batch([("b", "p", "I can't help with that.<|im_end|>")])[0]
    assert plain.label == tricky.label == "refusal"
