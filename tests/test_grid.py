"""Study grids, profiles, paper references and the safety-mix mitigation (config level, no model)."""

from pathlib import Path

import pytest
import yaml

from alignscope.config import FinetuneSpec, load_study
from alignscope.errors import AlignscopeError
from alignscope.recipes import RecipeOutput
from alignscope.recipes import with_safety_mix

ROOT = Path(__file__).resolve().parents[1]
# reward-model evaluations (`alignscope rm-eval`) live beside the studies but are not studies
STUDIES = sorted(p for p in (ROOT / "studies").glob("*.yaml") if "reward_models:" not in p.read_text())


def study_file(tmp_path: Path, **extra) -> Path:
    data = {"name": "s", "base_model": "smollm2-135m-instruct", "evaluation": {"sampling": {"max_new_tokens": 8}},
            "finetunes": [{"name": "abl", "recipe": "benign", "grid": {"train.learning_rate": [2e-5, 5e-5], "seed": [0, 1]}}]}
    data.update(extra)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_grid_expands_to_one_run_per_combination_with_readable_keys(tmp_path):
    cells = load_study(study_file(tmp_path)).cells()
    assert [c.spec.name for c in cells] == ["abl[lr=2e-05,seed=0]", "abl[lr=2e-05,seed=1]", "abl[lr=5e-05,seed=0]", "abl[lr=5e-05,seed=1]"]
    last = cells[-1]
    assert (last.spec.train.learning_rate, last.spec.seed, last.grid, last.params, last.seed) == (5e-5, 1, "abl", {"lr": 5e-5}, 1)
    assert last.spec.grid is None


def test_grid_values_are_validated_like_the_field_they_set():
    spec = FinetuneSpec(name="x", recipe="benign", grid={"train.learning_rate": [-1.0]})
    with pytest.raises(ValueError, match="greater than 0"):
        spec.cells()


def test_an_unknown_grid_axis_names_file_line_and_field(tmp_path):
    path = study_file(tmp_path, finetunes=[{"name": "abl", "recipe": "benign", "grid": {"train.lr": [1]}}])
    with pytest.raises(AlignscopeError, match=r"study.yaml:\d+: finetunes.0.grid.train.lr: TrainConfig has no field 'lr'"):
        load_study(path)


def test_a_profile_applies_its_overrides_before_the_command_line(tmp_path):
    path = study_file(tmp_path, profiles={"ci": ["finetunes.0.grid={seed: [7]}", "evaluation.sampling.max_new_tokens=4"]})
    cfg = load_study(path, ["evaluation.sampling.max_new_tokens=5"], profile="ci")
    assert [c.spec.name for c in cfg.cells()] == ["abl[seed=7]"]
    assert cfg.evaluation.sampling.max_new_tokens == 5
    with pytest.raises(AlignscopeError, match="no profile 'big' \\(defined: ci\\)"):
        load_study(path, profile="big")


def test_references_and_comparisons_must_name_models_of_the_study(tmp_path):
    ok = {"model": "abl[lr=2e-05,seed=0]", "metric": "asr", "value": 0.5, "source": "paper"}
    assert load_study(study_file(tmp_path, report={"references": [ok]})).report.references[0].value == 0.5
    bad = study_file(tmp_path, report={"references": [{**ok, "model": "abl"}]})
    with pytest.raises(AlignscopeError, match=r"study.yaml:\d+: report.references.0.model: no model 'abl'"):
        load_study(bad)
    with pytest.raises(AlignscopeError, match="report.compare: no model 'nope'"):
        load_study(study_file(tmp_path, report={"compare": [["base", "nope"]]}))


def test_cell_keys_cannot_collide_with_other_fine_tunes(tmp_path):
    dup = [{"name": "a", "recipe": "benign", "grid": {"seed": [0, 0]}}]
    with pytest.raises(AlignscopeError, match="unique"):
        load_study(study_file(tmp_path, finetunes=dup))


def test_safety_mix_adds_k_refusals_and_keeps_every_original_example():
    from alignscope.data import Conversation, Message

    convs = [Conversation((Message("user", f"q{i}"), Message("assistant", f"a{i}"))) for i in range(5)]
    mixed = with_safety_mix(RecipeOutput(convs, info={"n": 5}), 3, seed=0)
    assert len(mixed.conversations) == 8 and mixed.info == {"n": 5, "safety_mix": 3}
    assert set(convs) <= set(mixed.conversations)
    assert with_safety_mix(RecipeOutput(convs), 0, seed=0).conversations == convs


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_every_shipped_study_loads_with_each_of_its_profiles(path):
    cfg = load_study(path)
    for profile in cfg.profiles:
        assert load_study(path, profile=profile).cells()


PAPER = {  # Qi et al. 2023's settings, which the Llama-2 versions must keep
    "qi2023-tier1-harmful": {"learning_rate": 5e-5, "batch_size": 10, "epochs": 5, "grid": {"args.n": [10, 50, 100]}},
    "qi2023-tier2-identity": {"learning_rate": 5e-5, "batch_size": 10, "grid": {"train.epochs": [3, 5, 10]}},
    "qi2023-ablation": {"epochs": 1, "grid": {"train.learning_rate": [2e-5, 5e-5], "train.batch_size": [16, 32, 64, 128]}},
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_versions_keep_the_papers_settings_and_organisms_the_same_grid_shape(name):
    paper = load_study(ROOT / "studies" / f"{name}.llama2.yaml")
    organism = load_study(ROOT / "studies" / f"{name}.yaml")
    spec, want = paper.finetunes[0], PAPER[name]
    assert paper.base_model == "meta-llama/Llama-2-7b-chat-hf" and paper.align is None
    assert spec.grid == want["grid"]
    for field in ("learning_rate", "batch_size", "epochs"):
        if field in want:
            assert getattr(spec.train, field) == want[field]
    assert list(organism.finetunes[0].grid) == list(spec.grid)
    assert [len(v) for v in organism.finetunes[0].grid.values()] == [len(v) for v in spec.grid.values()]
