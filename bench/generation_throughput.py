"""Generation throughput: alignscope's batched HF backend vs the seed's one-prompt-at-a-time loop.

Same model (SmolLM2-135M-Instruct), same 64 AdvBench prompts, greedy, same max_new_tokens.
Tokens counted = generated tokens up to and including end-of-turn, per prompt.

    .venv/bin/python bench/generation_throughput.py --out docs/PERF.md
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
from alignscope.data import read_prompts
from alignscope.generate import HFGenerator, SamplingConfig, render_prompt
from alignscope.models import load_model, resolve_model
from alignscope.provenance import now_iso

ADVBENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "advbench" / "harmful_behaviors.csv"


def seed_loop(model, tok, rendered: list[str], max_new_tokens: int) -> tuple[int, list[str]]:
    """What the seed evaluation does: tokenize one prompt, generate, decode, next."""
    total, texts = 0, []
    for text in rendered:
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None,
                                 top_k=None, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        new = out[0, enc["input_ids"].shape[1]:].tolist()
        total += len(new)
        texts.append(tok.decode(new, skip_special_tokens=True).strip())
    return total, texts


def batched(model, tok, rendered: list[str], max_new_tokens: int, batch_size: int) -> tuple[int, list[str]]:
    gen = HFGenerator(model, tok, batch_size)
    outs: list[dict] = [{}] * len(rendered)

    def keep(idx, rows):
        for i, r in zip(idx, rows):
            outs[i] = r

    gen.generate(rendered, SamplingConfig(max_new_tokens=max_new_tokens), keep)
    return sum(o["tokens"] for o in outs), [o["text"] for o in outs]


def timed(fn, *args) -> tuple[float, int, list[str]]:
    t = time.perf_counter()
    n, texts = fn(*args)
    return time.perf_counter() - t, n, texts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workspace", default=".alignscope")
    ap.add_argument("--out", type=Path, help="append a results section to this markdown file")
    args = ap.parse_args()
    tune_allocator()
    model, tok = load_model(resolve_model("smollm2-135m-instruct", args.workspace))
    rendered = [render_prompt(tok, p.text, None) for p in read_prompts(ADVBENCH)[: args.n]]
    batched(model, tok, rendered[:4], 4, 4)  # warm-up: first-call allocations are not the steady state
    t_seed, n_seed, seed_texts = timed(seed_loop, model, tok, rendered, args.max_new_tokens)
    t_bat, n_bat, bat_texts = timed(batched, model, tok, rendered, args.max_new_tokens, args.batch_size)
    same = sum(a == b for a, b in zip(seed_texts, bat_texts))
    res = {"seed_tok_s": n_seed / t_seed, "batched_tok_s": n_bat / t_bat, "speedup": (n_bat / t_bat) / (n_seed / t_seed),
           "seed_s": t_seed, "batched_s": t_bat, "identical_outputs": f"{same}/{len(rendered)}"}
    print(json.dumps(res, indent=2))
    if args.out:
        write(args, res)


def write(args: argparse.Namespace, res: dict) -> None:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    lines = [
        f"\n### Generation throughput ({now_iso()})\n",
        f"- machine: {os.cpu_count()} cores, {cpu}; torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"- command: `.venv/bin/python bench/generation_throughput.py --n {args.n} --max-new-tokens {args.max_new_tokens} --batch-size {args.batch_size}`",
        f"- SmolLM2-135M-Instruct (fp32), {args.n} AdvBench prompts, greedy, {args.max_new_tokens} new tokens",
        "",
        "| loop | seconds | tokens/s |",
        "|---|---:|---:|",
        f"| seed-style (one prompt at a time) | {res['seed_s']:.1f} | {res['seed_tok_s']:.1f} |",
        f"| alignscope batched (batch {args.batch_size}) | {res['batched_s']:.1f} | {res['batched_tok_s']:.1f} |",
        "",
        f"Speed-up: **{res['speedup']:.1f}×**; identical greedy outputs: {res['identical_outputs']}.",
    ]
    with args.out.open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
