"""Supervised fine-tuning: LoRA (PEFT) or full, in one plain loop you can read top to bottom."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from alignscope.data import Conversation
from alignscope.errors import AlignscopeError
from alignscope.models import ADAPTER_META, ResolvedModel, chat_template_hash, fingerprint, load_model
from alignscope.progress import progress_bar
from alignscope.provenance import library_versions, now_iso, stable_hash, write_json_atomic
from alignscope.train._masking import IGNORE, TokenizedExample, tokenize_all


class TrainConfig(BaseModel):
    """Hyper-parameters of one fine-tuning run."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lora", "full"] = Field("lora", description="LoRA trains ~1% of weights (less memory, faster steps); full updates all")
    learning_rate: float = Field(2e-4, gt=0, description="peak learning rate (linear warm-up, then linear decay)")
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(8, ge=1, description="examples per optimizer step (per-device batch x accumulation)")
    micro_batch_size: int | None = Field(None, ge=1, description="examples per forward pass; smaller saves memory, same result")
    max_length: int = Field(256, ge=8, description="tokens per example; longer is truncated (cost grows linearly)")
    warmup_ratio: float = Field(0.0, ge=0, le=1)
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: str | list[str] = "all-linear"
    lora_layers: list[int] | None = Field(None, description="only these decoder layers get adapters; upper layers only cuts backward cost")
    save: Literal["adapter", "merged"] = Field("adapter", description="'merged' writes full weights (needed to build on the result)")


def _batches(examples: list[TokenizedExample], size: int, rng: random.Random) -> list[list[TokenizedExample]]:
    """Group examples of similar length (little padding), then shuffle the groups."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].input_ids), rng.random()))
    groups = [[examples[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def _collate(batch: list[TokenizedExample], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _loss_sum(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """Summed next-token cross-entropy over supervised positions, and how many there were."""
    import torch.nn.functional as F

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    # position t predicts token t+1: shift so labels line up with the logits that predict them
    logits, targets = logits[:, :-1], batch["labels"][:, 1:]
    n = int((targets != IGNORE).sum())
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=IGNORE, reduction="sum")
    return loss, n


def _prepare(model: Any, cfg: TrainConfig) -> Any:
    if cfg.method == "full":
        model.train()
        return model
    from peft import LoraConfig, get_peft_model

    targets = cfg.lora_target_modules
    if cfg.lora_layers is not None and isinstance(targets, str):
        targets = _linear_module_names(model)  # PEFT takes layers_to_transform only with explicit names
    lora = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=targets, layers_to_transform=cfg.lora_layers, task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.train()
    return model


def _linear_module_names(model: Any) -> list[str]:
    """Leaf names of the decoder's linear layers (what "all-linear" means: everything but the head)."""
    import torch

    out_emb = model.get_output_embeddings()
    return sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and m is not out_emb})


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def _train_loop(model: Any, examples: list[TokenizedExample], cfg: TrainConfig, pad_id: int, log: list[dict]) -> None:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total, warmup = steps_per_epoch * cfg.epochs, int(cfg.warmup_ratio * steps_per_epoch * cfg.epochs)
    micro = cfg.micro_batch_size or cfg.batch_size
    step = 0
    with progress_bar("fine-tune", total) as advance:
        for epoch in range(cfg.epochs):
            for batch in _batches(examples, cfg.batch_size, rng):
                for group in opt.param_groups:
                    group["lr"] = cfg.learning_rate * _schedule(step, total, warmup)
                n_sup = sum(e.n_supervised for e in batch)
                total_loss = 0.0
                for k in range(0, len(batch), micro):  # gradient accumulation over micro-batches
                    loss, _ = _loss_sum(model, _collate(batch[k : k + micro], pad_id))
                    (loss / n_sup).backward()  # mean over the whole batch's supervised tokens
                    total_loss += loss.item()
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                opt.step()
                opt.zero_grad(set_to_none=True)
                log.append({"step": step, "epoch": epoch, "loss": total_loss / n_sup, "lr": opt.param_groups[0]["lr"], "tokens": n_sup})
                step += 1
                advance(info=f"loss {total_loss / n_sup:.3f}")


def finetune(
    parent: ResolvedModel,
    conversations: list[Conversation],
    cfg: TrainConfig,
    out_dir: str | Path,
    extra_provenance: dict | None = None,
) -> ResolvedModel:
    """Fine-tune ``parent`` on ``conversations``; write adapter or weights plus provenance to ``out_dir``.

    The output directory appears only when complete (built aside, then renamed), so a killed
    run never leaves something that looks finished.
    """
    import torch

    out_dir = Path(out_dir)
    torch.manual_seed(cfg.seed)
    model, tok = load_model(parent)
    examples = tokenize_all(tok, conversations, cfg.max_length)
    model = _prepare(model, cfg)
    log: list[dict] = []
    started = time.time()
    _train_loop(model, examples, cfg, tok.pad_token_id, log)
    tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    kind = _save(model, tok, cfg, parent, tmp)
    data_hash = stable_hash([c.as_dicts() for c in conversations])
    (tmp / "config.resolved.yaml").write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    (tmp / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    write_json_atomic(tmp / "provenance.json", {
        "created": now_iso(), "parent": parent.ref, "parent_fingerprint": fingerprint(parent),
        "seed": cfg.seed, "data_sha256": data_hash, "n_examples": len(conversations),
        "n_examples_used": len(examples), "supervised_tokens": sum(e.n_supervised for e in examples),
        "chat_template_sha256": chat_template_hash(tok), "train_seconds": round(time.time() - started, 1),
        "final_loss": log[-1]["loss"], "versions": library_versions(), **(extra_provenance or {}),
    })
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return ResolvedModel(str(out_dir), str(out_dir), kind)


def _save(model: Any, tok: Any, cfg: TrainConfig, parent: ResolvedModel, out: Path) -> str:
    if cfg.method == "lora" and cfg.save == "adapter":
        if parent.kind == "adapter":
            raise AlignscopeError("cannot save an adapter on top of an adapter: train the parent with save: merged")
        model.save_pretrained(out)
        tok.save_pretrained(out)
        write_json_atomic(out / ADAPTER_META, {"base_path": parent.path})
        return "adapter"
    if cfg.method == "lora":
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return "hf-dir"
