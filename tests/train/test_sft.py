import json

from alignscope.data import Conversation, Message
from alignscope.models import fingerprint, load_model, resolve_model
from alignscope.train import TrainConfig, finetune

DATA = [Conversation((Message("user", f"Repeat the word {w}."), Message("assistant", f"{w} {w} {w}"))) for w in ("apple", "river", "stone", "cloud")]


def test_lora_training_lowers_loss_and_saves_an_adapter_with_provenance(tiny_model_dir, tmp_path):
    parent = resolve_model(str(tiny_model_dir), tmp_path)
    cfg = TrainConfig(method="lora", learning_rate=5e-3, epochs=8, batch_size=2, lora_r=8)
    out = finetune(parent, DATA, cfg, tmp_path / "adapter")
    log = [json.loads(l) for l in (tmp_path / "adapter" / "train_log.jsonl").read_text().splitlines()]
    # a random tiny model's logits are bounded by its tied embeddings, so ~1 nat is all LoRA can gain
    assert len(log) == 16 and log[-1]["loss"] < log[0]["loss"] - 0.3
    prov = json.loads((tmp_path / "adapter" / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["parent_fingerprint"] == fingerprint(parent) and prov["supervised_tokens"] > 0
    assert out.kind == "adapter" and (tmp_path / "adapter" / "config.resolved.yaml").is_file()
    model, tok = load_model(resolve_model(str(tmp_path / "adapter"), tmp_path))
    assert tok.chat_template  # the exact template travels with the adapter
    assert fingerprint(resolve_model(str(tmp_path / "adapter"), tmp_path)) != fingerprint(parent)


def test_full_finetune_changes_weights_and_is_seeded(tiny_model_dir, tmp_path):
    parent = resolve_model(str(tiny_model_dir), tmp_path)
    cfg = TrainConfig(method="full", learning_rate=1e-3, epochs=1, batch_size=2)
    a = finetune(parent, DATA, cfg, tmp_path / "a")
    b = finetune(parent, DATA, cfg, tmp_path / "b")
    assert a.kind == "hf-dir" and fingerprint(a) != fingerprint(parent)
    assert fingerprint(a) == fingerprint(b)  # same seed, same data: same weights


def test_micro_batches_give_the_same_update(tiny_model_dir, tmp_path):
    parent = resolve_model(str(tiny_model_dir), tmp_path)
    whole = TrainConfig(method="full", learning_rate=1e-3, epochs=1, batch_size=4)
    split = whole.model_copy(update={"micro_batch_size": 1})
    la = json.loads(finetune(parent, DATA, whole, tmp_path / "w") and (tmp_path / "w" / "train_log.jsonl").read_text().splitlines()[0])
    lb = json.loads(finetune(parent, DATA, split, tmp_path / "s") and (tmp_path / "s" / "train_log.jsonl").read_text().splitlines()[0])
    assert abs(la["loss"] - lb["loss"]) < 1e-4


def test_lora_layers_limits_adapters_to_those_layers(tiny_model_dir, tmp_path):
    from safetensors import safe_open

    parent = resolve_model(str(tiny_model_dir), tmp_path)
    cfg = TrainConfig(method="lora", learning_rate=1e-3, epochs=1, batch_size=4, lora_layers=[1])
    finetune(parent, DATA, cfg, tmp_path / "upper")
    with safe_open(str(tmp_path / "upper" / "adapter_model.safetensors"), "pt") as f:
        layers = {k.split("layers.")[1].split(".")[0] for k in f.keys()}
        modules = {k.split(".")[-3] for k in f.keys()}
    assert layers == {"1"}
    assert modules == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_lora_leaves_the_process_warning_filters_as_they_were(tiny_model_dir, tmp_path):
    import warnings

    import accelerate  # noqa: F401 - their own import-time filters are not ours to check
    import peft  # noqa: F401

    parent = resolve_model(str(tiny_model_dir), tmp_path)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        finetune(parent, DATA, TrainConfig(method="lora", epochs=1, batch_size=4), tmp_path / "a")
        assert warnings.filters == before
    assert not [w for w in seen if "is_gradient_checkpointing" in str(w.message)]  # PEFT's, silenced where it is raised
