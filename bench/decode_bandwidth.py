"""Decode throughput as a fraction of the memory-bandwidth bound, on whatever device is here.

One decode step of a batch must read every weight once, so a step can be no faster than
``weight bytes / memory bandwidth``. This script measures the bandwidth (a large tensor copy,
counted as STREAM does: bytes read + bytes written), then times greedy decoding with the HF
backend at a few batch sizes and reports

    fraction = (decode steps per second × weight bytes) / copy bandwidth

Decode time is generation of T tokens minus generation of 1 token (the prefill), with every
row forced to run the full T steps (``min_new_tokens``), so steps = T - 1. KV-cache reads are
not counted in the bound (the issue's definition): at large batch and long context the true
bound is lower and the fraction here is conservative.

    .venv/bin/python bench/decode_bandwidth.py --out docs/PERF.md                       # SmolLM2 on CPU
    python bench/decode_bandwidth.py --model llama-7b-shaped --device cuda --dtype bfloat16 --out docs/PERF.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from alignscope._runtime import tune_allocator
from alignscope.provenance import now_iso

# Llama-2-7b's shape; random weights are fine for speed.
LLAMA_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                num_key_value_heads=32, vocab_size=32000, max_position_embeddings=4096)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def copy_bandwidth(device: str, nbytes: int, repeats: int = 10) -> float:
    """Bytes per second moved by ``dst.copy_(src)`` (read + write), best of ``repeats``."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)  # fault the pages in before timing
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        dst.copy_(src)
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * src.numel() * src.element_size() / best


def load(name: str, device: str, dtype: torch.dtype, workspace: str):
    from transformers import AutoModelForCausalLM, LlamaConfig

    if name == "smollm2":
        from alignscope.models import load_model, resolve_model

        model, _ = load_model(resolve_model("smollm2-135m-instruct", workspace), dtype=dtype)
    elif name == "llama-7b-shaped":
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(LlamaConfig(**LLAMA_7B), dtype=dtype)
    else:
        raise SystemExit(f"unknown --model {name!r}")
    return model.to(device).eval()


def weight_bytes(model) -> int:
    """Every parameter once (a tied embedding is read once per step, as the output head)."""
    seen, total = set(), 0
    for p in model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            total += p.numel() * p.element_size()
    return total


def time_generate(model, batch: int, prompt_len: int, new_tokens: int, device: str) -> float:
    ids = torch.randint(10, 1000, (batch, prompt_len), device=device)
    sync(device)
    t = time.perf_counter()
    with torch.inference_mode():
        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, temperature=None, top_p=None, top_k=None, pad_token_id=0)
    sync(device)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2", choices=["smollm2", "llama-7b-shaped"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--copy-mib", type=int, default=1024)
    ap.add_argument("--workspace", default=".alignscope")
    ap.add_argument("--out", type=Path, help="append a results section to this markdown file")
    args = ap.parse_args()
    tune_allocator()
    bw = copy_bandwidth(args.device, args.copy_mib << 20)
    model = load(args.model, args.device, getattr(torch, args.dtype), args.workspace)
    wbytes = weight_bytes(model)
    bound_steps = bw / wbytes
    time_generate(model, 2, args.prompt_len, 4, args.device)  # warm-up
    rows = []
    for b in (int(x) for x in args.batches.split(",")):
        t_full = time_generate(model, b, args.prompt_len, args.new_tokens, args.device)
        t_pre = time_generate(model, b, args.prompt_len, 1, args.device)
        steps_s = (args.new_tokens - 1) / max(1e-9, t_full - t_pre)
        rows.append({"batch": b, "decode_steps_s": steps_s, "tokens_s": steps_s * b, "fraction": steps_s / bound_steps})
    res = {"copy_bandwidth_GBs": bw / 1e9, "weight_GB": wbytes / 1e9, "bound_steps_s": bound_steps, "rows": rows}
    print(json.dumps(res, indent=2))
    if args.out:
        write(args, res)


def machine(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {cpu}, {torch.get_num_threads()} threads"


def write(args: argparse.Namespace, res: dict) -> None:
    lines = [
        f"\n### Decode vs the memory-bandwidth bound ({now_iso()})\n",
        f"- machine: {machine(args.device)}; torch {torch.__version__}",
        f"- command: `python bench/decode_bandwidth.py --model {args.model} --device {args.device} --dtype {args.dtype} "
        f"--batches {args.batches} --prompt-len {args.prompt_len} --new-tokens {args.new_tokens}`",
        f"- weights {res['weight_GB']:.3f} GB ({args.dtype}); measured copy bandwidth {res['copy_bandwidth_GBs']:.1f} GB/s "
        f"(read + write); bound {res['bound_steps_s']:.1f} decode steps/s",
        "",
        "| batch | decode steps/s | tokens/s | fraction of bound |",
        "|---:|---:|---:|---:|",
        *(f"| {r['batch']} | {r['decode_steps_s']:.1f} | {r['tokens_s']:.0f} | {r['fraction']:.0%} |" for r in res["rows"]),
    ]
    with args.out.open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
