"""LoRA fine-tuning throughput (tokens/s) and model-FLOPs utilisation, on whatever device is here.

Times alignscope's own training step (PEFT LoRA, the loss used by ``alignscope finetune``) on
fixed-length batches of random tokens, every position supervised.

Model FLOPs per token (the work the maths needs, not what the kernels happen to do):
- frozen linear weights (every decoder matmul and the output head): 2 per weight forward and
  2 backward (gradient w.r.t. activations only: frozen weights get no gradient) → 4·N_frozen;
- LoRA weights: the usual 6·N_lora;
- attention scores and mixing: forward 2·layers·seq·hidden (QKᵀ and AV, halved for the causal
  mask), backward twice that → 6·layers·seq·hidden.

MFU = achieved model FLOP/s ÷ peak. The peak is ``--peak-tflops`` when given (a GPU's datasheet
number for the dtype, e.g. 989 for an H100 SXM in bf16 dense), else the best measured throughput
of a large square matmul on this device in the training dtype (on a CPU there is no honest
datasheet number; say which one was used).

    .venv/bin/python bench/train_throughput.py --out docs/PERF.md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from alignscope._runtime import tune_allocator
from alignscope.provenance import now_iso
from alignscope.train import TrainConfig
from alignscope.train._sft import _loss_sum, _prepare

from decode_bandwidth import LLAMA_7B, machine, sync  # same directory


def matmul_peak(device: str, dtype: torch.dtype, n: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def load(name: str, device: str, dtype: torch.dtype, workspace: str):
    from transformers import AutoModelForCausalLM, LlamaConfig

    if name == "smollm2":
        from alignscope.models import load_model, resolve_model

        model, _ = load_model(resolve_model("smollm2-135m-instruct", workspace), dtype=dtype)
    else:
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(LlamaConfig(**LLAMA_7B), dtype=dtype)
    return model.to(device)


def flops_per_token(model, seq: int) -> tuple[float, int, int]:
    cfg = model.config
    frozen = lora = 0
    emb = model.get_input_embeddings().weight
    for n, p in model.named_parameters():
        if p.dim() < 2 or (p is emb and not cfg.tie_word_embeddings):
            continue  # norms, biases, and an untied embedding lookup cost no matmul FLOPs
        if "lora_" in n:
            lora += p.numel()
        else:
            frozen += p.numel()
    attn = 6 * cfg.num_hidden_layers * seq * cfg.hidden_size
    return 4 * frozen + 6 * lora + attn, frozen, lora


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2", choices=["smollm2", "llama-7b-shaped"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--peak-tflops", type=float, help="the device's datasheet peak for --dtype; default: measured matmul")
    ap.add_argument("--workspace", default=".alignscope")
    ap.add_argument("--out", type=Path, help="append a results section to this markdown file")
    args = ap.parse_args()
    tune_allocator()
    dtype = getattr(torch, args.dtype)
    peak = args.peak_tflops * 1e12 if args.peak_tflops else matmul_peak(args.device, dtype)
    model = _prepare(load(args.model, args.device, dtype, args.workspace), TrainConfig(method="lora", lora_r=args.lora_r))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    fpt, frozen, lora = flops_per_token(model, args.seq)
    ids = torch.randint(10, 1000, (args.batch, args.seq), device=args.device)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}
    times = []
    for step in range(args.steps + 1):  # step 0 warms up
        sync(args.device)
        t = time.perf_counter()
        loss, n = _loss_sum(model, batch)
        (loss / n).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(args.device)
        if step:
            times.append(time.perf_counter() - t)
    step_s = sorted(times)[len(times) // 2]  # median
    tok_s = args.batch * args.seq / step_s
    res = {"tokens_s": tok_s, "step_s": step_s, "flops_per_token": fpt, "achieved_tflops": tok_s * fpt / 1e12,
           "peak_tflops": peak / 1e12, "peak_source": "datasheet (--peak-tflops)" if args.peak_tflops else "measured matmul",
           "mfu": tok_s * fpt / peak, "frozen_params": frozen, "lora_params": lora}
    print(json.dumps(res, indent=2))
    if args.out:
        write(args, res)


def write(args: argparse.Namespace, res: dict) -> None:
    lines = [
        f"\n### LoRA fine-tuning throughput and MFU ({now_iso()})\n",
        f"- machine: {machine(args.device)}; torch {torch.__version__}",
        f"- command: `python bench/train_throughput.py --model {args.model} --device {args.device} --dtype {args.dtype} "
        f"--batch {args.batch} --seq {args.seq} --steps {args.steps} --lora-r {args.lora_r}"
        + (f" --peak-tflops {args.peak_tflops}`" if args.peak_tflops else "`"),
        f"- {res['frozen_params'] / 1e6:.0f}M frozen matmul weights, {res['lora_params'] / 1e6:.2f}M LoRA weights; "
        f"{res['flops_per_token'] / 1e9:.2f} GFLOP per token (formula in the script)",
        "",
        "| step (median) | tokens/s | achieved TFLOP/s | peak TFLOP/s | MFU |",
        "|---:|---:|---:|---:|---:|",
        f"| {res['step_s']:.2f} s | {res['tokens_s']:.0f} | {res['achieved_tflops']:.3f} | {res['peak_tflops']:.3f} ({res['peak_source']}) "
        f"| {res['mfu']:.0%} |",
    ]
    with args.out.open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
