"""Supervised fine-tuning: LoRA (PEFT) or full, in one plain loop you can read top to bottom.

The loop runs under an ``accelerate.Accelerator``: one process is the same code path as N
(``accelerate launch``, see ``_launch.py``), and ``batch_size`` means the same batch under both.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from alignscope.data import Conversation
from alignscope.errors import AlignscopeError
from alignscope.models import ADAPTER_META, ResolvedModel, chat_template_hash, fingerprint, load_model, peft_quietly
from alignscope.progress import console, progress_bar
from alignscope.provenance import library_versions, now_iso, stable_hash, write_json_atomic
from alignscope.train._masking import IGNORE, TokenizedExample, tokenize_all

if TYPE_CHECKING:
    from alignscope.train._launch import LaunchConfig


class TrainConfig(BaseModel):
    """Hyper-parameters of one fine-tuning run."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lora", "full"] = Field(
        "lora", description="LoRA trains ~1% of weights (less memory, faster steps); full updates all"
    )
    learning_rate: float = Field(2e-4, gt=0, description="peak learning rate (linear warm-up, then linear decay)")
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(
        8, ge=1, description="examples per optimizer step (per-device batch x processes x accumulation)"
    )
    micro_batch_size: int | None = Field(
        None, ge=1, description="examples per forward pass on each process; smaller saves memory, same result"
    )
    max_length: int = Field(256, ge=8, description="tokens per example; longer is truncated (cost grows linearly)")
    warmup_ratio: float = Field(0.0, ge=0, le=1)
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: str | list[str] = "all-linear"
    lora_layers: list[int] | None = Field(
        None, description="only these decoder layers get adapters; upper layers only cuts backward cost"
    )
    save: Literal["adapter", "merged"] = Field(
        "adapter", description="'merged' writes full weights (needed to build on the result)"
    )


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
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=IGNORE, reduction="sum"
    )
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
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        layers_to_transform=cfg.lora_layers,
        task_type="CAUSAL_LM",
    )
    with peft_quietly():
        model = get_peft_model(model, lora)
    model.train()
    return model


def _linear_module_names(model: Any) -> list[str]:
    """Leaf names of the decoder's linear layers (what "all-linear" means: everything but the head)."""
    import torch

    out_emb = model.get_output_embeddings()
    return sorted(
        {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and m is not out_emb}
    )


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def split_batch(batch_size: int, micro_batch_size: int | None, processes: int) -> tuple[int, int]:
    """(examples per forward on each process, forwards per optimizer step) for one batch.

    ``batch_size`` is the effective batch: per-device micro-batch x processes x accumulation.
    When that product is larger (e.g. 7 examples on 2 processes), the spare slots of every batch
    run a zero-weight forward (see ``_my_micro_batches``): the update is still exactly the batch's.
    """
    micro = min(micro_batch_size or batch_size, math.ceil(batch_size / processes))
    return micro, math.ceil(batch_size / (micro * processes))


def _my_micro_batches(
    batch: list[TokenizedExample], rank: int, processes: int, micro: int, accum: int
) -> list[tuple[list[TokenizedExample], float]]:
    """This process's micro-batches of one batch, each with its weight in the loss.

    Every process takes every ``processes``-th example (all build the same batches from the same
    seed) and runs exactly ``accum`` forwards, so collectives and accumulation counts line up; a
    process whose share ran out (a short last batch) repeats one example with weight 0.
    """
    share = batch[rank::processes]
    chunks = [(share[k : k + micro], 1.0) for k in range(0, len(share), micro)]
    return chunks + [(batch[:1], 0.0)] * (accum - len(chunks))


def _backward_batch(
    acc: Any, model: Any, chunks: list[tuple[list[TokenizedExample], float]], n_sup: int, pad_id: int
) -> Any:
    """Forward and backward this process's micro-batches; gradients are synced after the last one.

    Returns this process's summed token loss (a 0-d tensor) for logging.
    """
    import torch

    # The gradient must be d(summed token loss of the WHOLE batch)/n_sup. accelerate divides each
    # backward by the accumulation steps and DDP / FSDP / ZeRO average over processes: undo both.
    scale = len(chunks) * acc.num_processes / n_sup
    total = torch.zeros((), device=acc.device)
    for examples, weight in chunks:
        with acc.accumulate(model):  # no_sync on all but the last micro-batch
            batch = {k: v.to(acc.device) for k, v in _collate(examples, pad_id).items()}
            loss, _ = _loss_sum(model, batch)
            acc.backward(loss * (weight * scale))
        total += loss.detach() * weight
    if not acc.sync_gradients:  # would step on gradients never averaged across processes
        raise RuntimeError(
            f"gradient accumulation is out of step ({len(chunks)} micro-batches, "
            f"accelerate expects {acc.gradient_accumulation_steps})"
        )
    return total


def _train_loop(
    acc: Any, model: Any, examples: list[TokenizedExample], cfg: TrainConfig, pad_id: int, log: list[dict]
) -> Any:
    """Train under ``acc`` (one process, or one of several); return the prepared model."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    model, opt = acc.prepare(model, torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay))
    micro, accum = split_batch(cfg.batch_size, cfg.micro_batch_size, acc.num_processes)
    if acc.is_main_process:
        console.print(
            effective_batch_line(cfg.batch_size, micro, acc.num_processes, accum), highlight=False, markup=False
        )
    rng = random.Random(cfg.seed)  # the same on every process: all agree on every batch
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total, warmup = steps_per_epoch * cfg.epochs, int(cfg.warmup_ratio * steps_per_epoch * cfg.epochs)
    step = 0
    with _progress(acc, total) as advance:
        for epoch in range(cfg.epochs):
            for batch in _batches(examples, cfg.batch_size, rng):
                for group in opt.param_groups:
                    group["lr"] = cfg.learning_rate * _schedule(step, total, warmup)
                n_sup = sum(e.n_supervised for e in batch)  # the whole batch's, on every process
                chunks = _my_micro_batches(batch, acc.process_index, acc.num_processes, micro, accum)
                local = _backward_batch(acc, model, chunks, n_sup, pad_id)
                acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                opt.step()
                opt.zero_grad(set_to_none=True)
                loss = acc.reduce(local, "sum").item() / n_sup
                log.append(
                    {"step": step, "epoch": epoch, "loss": loss, "lr": opt.param_groups[0]["lr"], "tokens": n_sup}
                )
                step += 1
                advance(info=f"loss {loss:.3f}")
    return model


def effective_batch_line(batch_size: int, micro: int, processes: int, accum: int) -> str:
    """What ``batch_size`` means under this launch, printed once at the start of training."""
    procs = f"{processes} process" + ("es" if processes != 1 else "")
    line = f"effective batch {batch_size} = {micro} per device × {procs} × {accum} accumulation"
    spare = micro * processes * accum - batch_size
    return line + (f" (spare slots per batch: {spare}, each a zero-weight forward)" if spare else "")


def _progress(acc: Any, total: int) -> Any:
    """The progress bar on the main process only; a no-op ``advance`` elsewhere."""
    return (
        progress_bar("fine-tune", total) if acc.is_main_process else contextlib.nullcontext(lambda n=1, info="": None)
    )


def process_state() -> Any:
    """This process's place in a launch (accelerate's PartialState): CPU processes over gloo without CUDA."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def _accelerator(cfg: TrainConfig) -> Any:
    """The Accelerator for this process, counting gradient accumulation as ``cfg`` splits a batch."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedType

    state = process_state()
    micro, accum = split_batch(cfg.batch_size, cfg.micro_batch_size, state.num_processes)
    # A launcher's environment overrides Accelerator's arguments and configures DeepSpeed (which
    # counts accumulation and clips inside its own step): make both say what ``cfg`` says.
    with _environ(
        ACCELERATE_GRADIENT_ACCUMULATION_STEPS=str(accum), ACCELERATE_GRADIENT_CLIPPING=str(cfg.max_grad_norm)
    ):
        acc = Accelerator(cpu=state.device.type == "cpu", gradient_accumulation_steps=accum)
    if acc.distributed_type == DistributedType.DEEPSPEED:  # no DataLoader tells DeepSpeed the micro-batch
        acc.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = micro
    if acc.gradient_accumulation_steps != accum:
        raise AlignscopeError(
            f"the accelerate config sets gradient_accumulation_steps={acc.gradient_accumulation_steps}; "
            f"alignscope derives it from train.batch_size ({accum} here): remove it from the config"
        )
    return acc


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _plain_model(acc: Any, model: Any, parent: ResolvedModel, cfg: TrainConfig) -> Any:
    """The trained model as one ordinary module on the main process (None elsewhere).

    Under FSDP or ZeRO-3 each process holds only shards: every process joins in gathering the
    full state dict, which the main process loads into a fresh copy of the (PEFT) model.
    """
    from accelerate.utils import DistributedType

    if acc.distributed_type not in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        return acc.unwrap_model(model) if acc.is_main_process else None
    state = acc.get_state_dict(model)
    if not acc.is_main_process:
        return None
    plain = _prepare(load_model(parent)[0], cfg)
    plain.load_state_dict(state)
    return plain


def train_and_save(
    parent: ResolvedModel,
    conversations: list[Conversation],
    cfg: TrainConfig,
    out: Path,
    extra_provenance: dict | None = None,
    accelerate_config: str | None = None,
) -> Any:
    """Train in this process (the only one, or one rank of ``accelerate launch``); the main process writes ``out``.

    Returns accelerate's state (``is_main_process``, ``wait_for_everyone``).
    """
    import torch

    acc = _accelerator(cfg)
    torch.manual_seed(cfg.seed)
    model, tok = load_model(parent)
    examples = tokenize_all(tok, conversations, cfg.max_length)
    model = _prepare(model, cfg)
    log: list[dict] = []
    started = time.time()
    model = _train_loop(acc, model, examples, cfg, tok.pad_token_id, log)
    plain = _plain_model(acc, model, parent, cfg)
    if acc.is_main_process:
        shutil.rmtree(out, ignore_errors=True)
        _save(plain, tok, cfg, parent, out)
        (out / "config.resolved.yaml").write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
        (out / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
        write_json_atomic(
            out / "provenance.json",
            {
                "created": now_iso(),
                "parent": parent.ref,
                "parent_fingerprint": fingerprint(parent),
                "seed": cfg.seed,
                "data_sha256": stable_hash([c.as_dicts() for c in conversations]),
                "n_examples": len(conversations),
                "n_examples_used": len(examples),
                "supervised_tokens": sum(e.n_supervised for e in examples),
                "chat_template_sha256": chat_template_hash(tok),
                "train_seconds": round(time.time() - started, 1),
                "final_loss": log[-1]["loss"],
                "launch": _launch_record(acc, cfg, accelerate_config),
                "versions": library_versions(),
                **(extra_provenance or {}),
            },
        )
    acc.wait_for_everyone()
    return acc.state


def _launch_record(acc: Any, cfg: TrainConfig, accelerate_config: str | None) -> dict:
    """How this run was launched, for provenance.json (not part of any cache key)."""
    micro, accum = split_batch(cfg.batch_size, cfg.micro_batch_size, acc.num_processes)
    return {
        "num_processes": acc.num_processes,
        "accelerate_config": accelerate_config,
        "distributed_type": acc.distributed_type.value,
        "device": acc.device.type,
        "mixed_precision": acc.mixed_precision,
        "per_device_batch": micro,
        "accumulation": accum,
        "effective_batch": cfg.batch_size,
    }


def finetune(
    parent: ResolvedModel,
    conversations: list[Conversation],
    cfg: TrainConfig,
    out_dir: str | Path,
    extra_provenance: dict | None = None,
    *,
    launch: LaunchConfig | None = None,
) -> ResolvedModel:
    """Fine-tune ``parent`` on ``conversations``; write adapter or weights plus provenance to ``out_dir``.

    The output directory appears only when complete (built aside, then renamed), so a killed
    run never leaves something that looks finished.

    Args:
        launch: training processes and Accelerate config (a ``LaunchConfig``); default one
            process, here. With ``num_processes > 1`` this runs ``accelerate launch`` and waits.
            The same data and ``cfg`` give the same model under any launch (up to float
            summation order), so the launch is recorded in provenance.json, not in any cache key.
    """
    from alignscope.train import _launch

    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
    if launch is not None and launch.num_processes > 1 and not _launch.inside_launch():
        _launch.run_launch(launch, parent, conversations, cfg, tmp, extra_provenance)
        main, state = True, None
    else:
        state = train_and_save(parent, conversations, cfg, tmp, extra_provenance)
        main = state.is_main_process
    if main:
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
    if state is not None:
        state.wait_for_everyone()  # inside someone's launch: nobody returns before the rename
    return ResolvedModel(str(out_dir), str(out_dir), saved_kind(cfg))


def saved_kind(cfg: TrainConfig) -> Literal["adapter", "hf-dir"]:
    """What ``finetune`` writes: a PEFT adapter, or a full HF model directory."""
    return "adapter" if cfg.method == "lora" and cfg.save == "adapter" else "hf-dir"


def _save(model: Any, tok: Any, cfg: TrainConfig, parent: ResolvedModel, out: Path) -> None:
    if cfg.method == "lora" and cfg.save == "adapter":
        if parent.kind == "adapter":
            raise AlignscopeError("cannot save an adapter on top of an adapter: train the parent with save: merged")
        model.save_pretrained(out)
        tok.save_pretrained(out)
        write_json_atomic(out / ADAPTER_META, {"base_path": parent.path})
        return
    if cfg.method == "lora":
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tok.save_pretrained(out)
