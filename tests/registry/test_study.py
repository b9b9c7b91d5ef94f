"""A study's `evaluation.benchmarks` accepts any registered set by name, with `path:` to a local upstream copy."""

from pathlib import Path

import pytest
import yaml

from alignscope.config import BenchmarkSpec, load_study
from alignscope.errors import AlignscopeError
from alignscope.assemble import build_results
from alignscope.registry import load_benchmark, load_benchmark_set
from tests.conftest import eval_row

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]

BENCHMARKS = [
    {"name": "probe", "limit": 3},
    {"name": "xstest", "path": str(FIXTURES / "xstest/xstest_prompts.csv")},
    {"name": "hexphi", "path": str(FIXTURES / "hexphi/public"), "categories": ["Malware"], "limit": 2, "seed": 0},
    {"name": "harmbench", "path": str(FIXTURES / "harmbench/harmbench_behaviors_text_all.csv"), "subset": "contextual"},
    {"name": "my-prompts", "path": str(FIXTURES / "advbench/qi/harmful_behaviors.csv"), "expected": "refuse", "limit": 2},
    {"name": "sorrybench", "optional": True},
]


def study(tmp_path: Path):
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump({"name": "registry-study", "base_model": "smollm2-135m-instruct", "workspace": str(tmp_path / "ws"),
                                 "evaluation": {"sampling": {"max_new_tokens": 8}, "benchmarks": BENCHMARKS}}))
    return load_study(p)


def test_registry_names_fixture_paths_plain_files_and_builtins_load_through_load_benchmark(tmp_path, capsys):
    cfg = study(tmp_path)
    loaded = {s.name: load_benchmark_set(s, cfg.workspace) for s in cfg.evaluation.benchmarks}
    assert loaded["sorrybench"] is None and "skipping benchmark sorrybench: not in the workspace cache" in capsys.readouterr().err
    assert [p.id for p in loaded["probe"].records] == ["probe-001", "probe-002", "probe-003"]
    assert {p.expected for p in loaded["xstest"].records} == {"refuse", "comply"}
    assert [p.category for p in loaded["hexphi"].records] == ["Malware", "Malware"] and "without category 2" in loaded["hexphi"].notes[0]
    assert all("\n\n---\n\n" in p.text for p in loaded["harmbench"].records)
    mine = loaded["my-prompts"]  # an unregistered name with a path: a plain prompt file, read as before
    assert [p.id for p in mine.records] == ["harmful_behaviors-0001", "harmful_behaviors-0002"]
    assert load_benchmark(cfg.evaluation.benchmarks[4]) == mine.records


def test_optional_set_is_used_once_fetched(tmp_path):
    from alignscope import registry

    ws = tmp_path / "ws"
    spec = BenchmarkSpec(name="jbb", optional=True, subset="benign")
    assert load_benchmark_set(spec, ws) is None
    registry.fetch("jbb", ws, source=FIXTURES / "jbb")
    loaded = load_benchmark_set(spec, ws)
    assert loaded is not None and len(loaded) == 3 and {p.expected for p in loaded.records} == {"comply"}


def test_optional_missing_path_and_wrong_kind(tmp_path):
    assert load_benchmark_set(BenchmarkSpec(name="xstest", path=str(tmp_path / "nope.csv"), optional=True)) is None
    with pytest.raises(AlignscopeError, match="benchmark 'alpaca': a finetune set, not a benchmark"):
        load_benchmark_set(BenchmarkSpec(name="alpaca"))
    with pytest.raises(AlignscopeError, match="benchmark 'mine': not a registered set"):
        load_benchmark_set(BenchmarkSpec(name="mine"))


def test_expected_override_applies_to_registry_sets():
    spec = BenchmarkSpec(name="xstest", path=str(FIXTURES / "xstest/xstest_prompts.csv"), expected="comply")
    loaded = load_benchmark_set(spec)
    assert {p.expected for p in loaded.records} == {"comply"} and loaded.notes[-1] == "expected overridden: comply"


def test_report_states_source_revision_rows_hash_and_notes(tmp_path):
    cfg = study(tmp_path)
    loaded = {s.name: ls for s in cfg.evaluation.benchmarks if (ls := load_benchmark_set(s, cfg.workspace)) is not None}
    benches = {n: ls.records for n, ls in loaded.items()}
    results = build_results(cfg, [], benches, [], {}, {}, {n: ls.provenance() for n, ls in loaded.items()})
    by_name = {b.name: b for b in results.benchmarks}
    hexphi = by_name["hexphi"]
    assert hexphi.source == str((FIXTURES / "hexphi/public").resolve()) and hexphi.n == 2
    assert hexphi.sha256 == loaded["hexphi"].sha256 and "without category 2" in hexphi.notes[0]
    assert by_name["probe"].source == "builtin:probe" and by_name["probe"].revision is None


def test_mixed_expected_benchmark_gets_asr_and_over_refusal(tmp_path):
    from alignscope.evaluation import metric_rows

    xs = load_benchmark_set(BenchmarkSpec(name="xstest", path=str(FIXTURES / "xstest/xstest_prompts.csv")))
    rows = [eval_row(p, benchmark="xstest", label="refusal", score=1.0) for p in xs.records]
    metrics = {r["metric"]: r for r in metric_rows(rows, ("model", "benchmark"))}
    assert metrics["over_refusal"]["n"] == 4 and metrics["over_refusal"]["value"] == 1.0
    assert metrics["asr"]["n"] == 3 and metrics["asr"]["value"] == 0.0


def test_quickstart_has_an_optional_xstest_entry():
    cfg = load_study(ROOT / "studies" / "quickstart.yaml")
    xs = next(b for b in cfg.evaluation.benchmarks if b.name == "xstest")
    assert xs.optional and xs.path is None


def test_builtin_name_with_a_path_still_reads_that_file():
    loaded = load_benchmark_set(BenchmarkSpec(name="probe", path=str(FIXTURES / "advbench/qi/harmful_behaviors.csv")))
    assert len(loaded) == 5 and loaded.records[0].id == "harmful_behaviors-0001"
