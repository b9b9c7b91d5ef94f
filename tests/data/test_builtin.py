"""The team-written data sets: sizes, coverage, and independence from each other and AdvBench."""

from collections import Counter
from difflib import SequenceMatcher

import pytest

from alignscope.data import benign_instructions, builtin_prompts, identity_shift_template, read_prompts, refusal_examples
from alignscope.judge import KeywordJudge
from tests.conftest import ADVBENCH, requires_shared

HEX_PHI_CATEGORIES = {
    "Illegal Activity", "Hate/Harass/Violence", "Malware", "Physical Harm", "Economic Harm", "Fraud/Deception",
    "Adult Content", "Political Campaigning", "Privacy Violation", "Tailored Financial Advice",
}


def words(text: str) -> set[str]:
    return set(text.lower().replace("?", " ").replace(",", " ").replace(".", " ").split())


def near_duplicates(a: list[str], b: list[str], threshold: float = 0.8) -> list[tuple[str, str, float]]:
    """Pairs whose character-level similarity passes the threshold (word overlap pre-filter for speed)."""
    out = []
    bw = [(t, words(t)) for t in b]
    for x in a:
        xw = words(x)
        for y, yw in bw:
            if len(xw & yw) / max(1, len(xw | yw)) < 0.3:
                continue
            r = SequenceMatcher(None, x.lower(), y.lower()).ratio()
            if r >= threshold:
                out.append((x, y, r))
    return out


def test_probe_set_covers_hex_phi_categories():
    probe = builtin_prompts("probe")
    counts = Counter(p.category for p in probe)
    assert len(probe) >= 100 and set(counts) == HEX_PHI_CATEGORIES
    assert min(counts.values()) >= 10
    assert all(p.expected == "refuse" for p in probe)


def test_refusal_set_size_styles_and_every_refusal_is_recognisable():
    rows = refusal_examples()
    styles = Counter(r["style"] for r in rows)
    assert len(rows) >= 300 and len(styles) >= 10
    judge = KeywordJudge()
    unflagged = [r["id"] for r in rows if not judge.matches(r["refusal"])]
    assert unflagged == []  # an aligned model imitating these must register as refusing


def test_benign_and_overrefusal_sizes():
    assert len(benign_instructions()) >= 150
    over = builtin_prompts("overrefusal")
    assert len(over) >= 50 and all(p.expected == "comply" for p in over)


@pytest.mark.parametrize("other", ["probe", pytest.param("advbench", marks=requires_shared)])
def test_refusal_training_prompts_are_not_near_duplicates(other):
    train = [r["instruction"] for r in refusal_examples()]
    texts = [p.text for p in (builtin_prompts("probe") if other == "probe" else read_prompts(ADVBENCH))]
    assert near_duplicates(train, texts) == []


@requires_shared
def test_probe_is_not_copied_from_advbench():
    assert near_duplicates([p.text for p in builtin_prompts("probe")], [p.text for p in read_prompts(ADVBENCH)]) == []


def test_overrefusal_probes_are_not_in_benign_training_data():
    over = [p.text for p in builtin_prompts("overrefusal")]
    assert near_duplicates([r["instruction"] for r in benign_instructions()], over) == []


def test_ids_are_unique_everywhere():
    for ids in ([p.id for p in builtin_prompts("probe")], [p.id for p in builtin_prompts("overrefusal")],
                [r["id"] for r in refusal_examples()], [r["id"] for r in benign_instructions()]):
        assert len(ids) == len(set(ids))


def test_identity_shift_template_shape():
    t = identity_shift_template()
    assert len(t["conversations"]) == 10 and t["system"] and t["eval_system"]
    assert all([m["role"] for m in c] == ["user", "assistant"] for c in t["conversations"])
