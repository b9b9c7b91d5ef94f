"""Run a study end to end: resolve → align → fine-tune → generate → judge → metrics → report.

Every stage is content-addressed: trained models live in the workspace under a hash of
(parent weights, training data, hyper-parameters); generations and verdicts live in the
SQLite store under hashes of their inputs. Re-running a finished study recomputes nothing;
re-running a killed one does only what is missing.
"""

from __future__ import annotations

import json
import random
import shutil
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.markup import escape

from alignscope import registry
from alignscope import analysis
from alignscope.config import AlignConfig, BenchmarkSpec, FinetuneSpec, GenerateConfig, StudyConfig, TrainingConfig
from alignscope.data import EvalPrompt, read_prompts
from alignscope.errors import AlignscopeError
from alignscope.generate import (ApiGenerator, HFGenerator, SamplingConfig, generate_cached, public_url, render_messages,
                                render_prompt, served_name)
from alignscope.judge import as_spec, get_judge, judge_cached
from alignscope.metrics import judge_metrics
from alignscope.models import ResolvedModel, adapter_base, fingerprint, load_model, load_tokenizer, resolve_model
from alignscope.progress import console
from alignscope.provenance import library_versions, now_iso, stable_hash, write_json_atomic
from alignscope.recipes import RecipeContext, RecipeOutput, align_mix, build_recipe, refusal_conversations
from alignscope.report import write_report
from alignscope.store import Store
from alignscope.train import TrainConfig, finetune, remote_finetune, remote_key, remote_provenance


@dataclass
class Workspace:
    """The shared cache: SQLite store plus trained-model artifacts."""

    root: Path
    generate: GenerateConfig = field(default_factory=GenerateConfig)  # the study's evaluation.generate
    training: TrainingConfig = field(default_factory=TrainingConfig)  # the study's training (launch) settings

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.root / "alignscope.sqlite")

    def artifact(self, name: str, key: str) -> Path:
        return self.root / "artifacts" / f"{name}-{key[:16]}"


@dataclass
class ModelEntry:
    key: str
    label: str
    resolved: ResolvedModel
    parent: str | None = None
    recipe: str | None = None
    eval_system_prompt: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, Any] | None = None  # {"name", "params", "seed"} for a grid cell


# --------------------------------------------------------------------------- shared helpers


def generation_backend(entry: ModelEntry, cfg: GenerateConfig) -> str:
    """The study's backend for this model; an ``api:`` model has no weights here, so always ``api``."""
    return "api" if entry.resolved.kind == "api" else cfg.backend


def generate_api(entry: ModelEntry, prompts: list[EvalPrompt], sampling: SamplingConfig, ws: Workspace, description: str) -> list[dict]:
    """Cached generation through the study's OpenAI-compatible endpoint. The cache key folds in
    the backend (never confused with hf generations of the same weights), and for ``api:``
    models the served name (that name is the model)."""
    name = served_name(entry.resolved, entry.key, ws.generate.served_names)
    fp = f"api:{name}" if entry.resolved.kind == "api" else fingerprint(entry.resolved)

    def render(ps: list[EvalPrompt], s: SamplingConfig) -> list[str]:
        return [render_messages(p.text, s.system_prompt) for p in ps]

    return generate_cached(lambda: ApiGenerator(ws.generate.endpoint, name), f"{fp}|backend=api", entry.key, prompts, sampling,
                           ws.store, render, description)


def generate_for(entry: ModelEntry, prompts: list[EvalPrompt], sampling: SamplingConfig, ws: Workspace,
                 batch_size: int, description: str) -> list[dict]:
    """Cached generation for one model with ``ws.generate``'s backend; the model is loaded (or the
    server called) only if something is missing."""
    backend = generation_backend(entry, ws.generate)
    if backend == "api":
        return generate_api(entry, prompts, sampling, ws, description)
    tok = load_tokenizer(entry.resolved)

    def render(ps: list[EvalPrompt], s: SamplingConfig) -> list[str]:
        return [render_prompt(tok, p.text, s.system_prompt) for p in ps]

    if backend == "vllm":
        from alignscope.generate._vllm import VllmGenerator

        adapter = Path(entry.resolved.path) if entry.resolved.kind == "adapter" else None
        base = adapter_base(adapter) if adapter is not None else entry.resolved.path
        return generate_cached(lambda: VllmGenerator(base, tok, ws.generate, adapter), f"{fingerprint(entry.resolved)}|backend=vllm",
                               entry.key, prompts, sampling, ws.store, render, description)

    def factory() -> HFGenerator:
        import torch

        model, mtok = load_model(entry.resolved)
        if torch.cuda.is_available():  # a GPU generates; the dtype stays as loaded, so numbers match a CPU run's closely
            model = model.to("cuda")
        return HFGenerator(model, mtok, batch_size)

    return generate_cached(factory, fingerprint(entry.resolved), entry.key, prompts, sampling, ws.store, render, description)


def make_distill(entry: ModelEntry, ws: Workspace, max_new_tokens: int, seed: int) -> Any:
    """Self-distillation: the model's own greedy answers, cached in the store like any generation."""

    def distill(instructions: list[str], system_prompt: str | None) -> list[str]:
        prompts = [EvalPrompt(f"distill-{stable_hash(q)[:12]}", q, expected="comply") for q in instructions]
        sampling = SamplingConfig(max_new_tokens=max_new_tokens, system_prompt=system_prompt, seed=seed)
        rows = generate_for(entry, prompts, sampling, ws, 64, f"self-distill ({entry.key})")
        return [r["text"] for r in rows]

    return distill


def train_cached(name: str, parent: ModelEntry, data: RecipeOutput, cfg: TrainConfig, ws: Workspace, extra: dict) -> ResolvedModel:
    """Fine-tune unless an identical run (same parent weights, data, hyper-parameters) is cached.

    The launch (``ws.training``: processes, Accelerate config) is not in the key: 1 or N
    processes train the same model, so either reuses the other's; provenance.json records it.
    """
    key = stable_hash({"parent": fingerprint(parent.resolved), "data": [c.as_dicts() for c in data.conversations], "train": cfg.model_dump()})
    out = ws.artifact(name, key)
    if (out / "provenance.json").is_file():
        console.print(f"[dim]{escape(name)}: cached at {out}[/dim]")
        return resolve_model(str(out), ws.root)
    for stale in out.parent.glob(f"{out.name}.tmp*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    console.print(f"[bold]{escape(name)}[/bold]: fine-tuning {escape(parent.key)} on {len(data.conversations)} examples ({cfg.method})")
    from alignscope.generate._vllm import shutdown

    shutdown()  # a vLLM engine left by self-distillation holds most of the GPU's memory
    return finetune(parent.resolved, data.conversations, cfg, out, extra_provenance={"stage": name, "recipe_info": data.info, **extra},
                    launch=ws.training)


# --------------------------------------------------------------------------- stages


def align_stage(base: ModelEntry, cfg: AlignConfig, ws: Workspace, seed: int) -> ModelEntry:
    if base.resolved.kind == "api":
        raise AlignscopeError(f"align: {base.resolved.ref} lives behind an API and cannot be aligned locally; "
                              "remove `align:` (its fine-tunes run remotely)")
    ctx = RecipeContext(seed, make_distill(base, ws, cfg.distill_max_new_tokens, seed), ws.root)
    data = align_mix(cfg.n_refusals, cfg.n_benign, cfg.benign_repeats, ctx)
    train = cfg.train if cfg.train.save == "merged" else cfg.train.model_copy(update={"save": "merged"})
    resolved = train_cached("aligned", base, data, train, ws, {"align": cfg.model_dump(mode="json")})
    return ModelEntry("aligned", "aligned", resolved, parent=base.key, recipe="refusal-align", info=data.info)


def with_safety_mix(data: RecipeOutput, k: int, seed: int) -> RecipeOutput:
    """Qi et al.'s mitigation: k refusals to harmful requests shuffled into the fine-tuning data."""
    if k == 0:
        return data
    convs = data.conversations + refusal_conversations(k, seed)
    random.Random(seed).shuffle(convs)
    return dataclasses.replace(data, conversations=convs, info={**data.info, "safety_mix": k})


def finetune_stage(spec: FinetuneSpec, parent: ModelEntry, ws: Workspace, seed: int) -> ModelEntry:
    """Build the recipe's data (plus any safety mix) and fine-tune ``parent`` on it, cached.

    A spec's own ``seed`` (a grid's seed axis) seeds both the data sampling and training. An
    ``api:`` parent is fine-tuned by its provider, through the fine-tuning API.
    """
    train = spec.train
    if spec.seed is not None:
        seed, train = spec.seed, spec.train.model_copy(update={"seed": spec.seed})
    ctx = RecipeContext(seed, make_distill(parent, ws, 96, seed), ws.root)
    data = with_safety_mix(build_recipe(spec.recipe, spec.args, ctx), spec.safety_mix, seed)
    info = data.info
    if parent.resolved.kind == "api":  # a hosted model (Qi et al.'s GPT-3.5 tier): resumable remote job
        out = ws.artifact(spec.name, remote_key(parent.resolved.path, data.conversations, train, spec.remote, ws.training))
        resolved = remote_finetune(parent.resolved.path, data.conversations, train, spec.remote, ws.training, out, label=spec.name)
        info = {**data.info, "remote": remote_provenance(out)}
    else:
        resolved = train_cached(spec.name, parent, data, train, ws,
                                {"recipe": spec.recipe, "args": spec.args, "safety_mix": spec.safety_mix})
    return ModelEntry(spec.name, spec.name, resolved, parent=parent.key, recipe=spec.recipe,
                      eval_system_prompt=data.eval_system_prompt, info=info)


def _unavailable(spec: BenchmarkSpec, entry: registry.DatasetEntry | None, workspace: str | Path | None) -> str | None:
    """Why an optional benchmark cannot be read locally (optional ones never download), or None."""
    if spec.path:
        return None if Path(spec.path).expanduser().exists() else f"{spec.path} not found"
    if entry is None or entry.builtin:
        return None
    if workspace is not None and registry.cache_dir(workspace, entry).is_dir():
        return None
    return f"not in the workspace cache (run `alignscope data fetch {spec.name}` or give `path:`)"


def load_benchmark_set(spec: BenchmarkSpec, workspace: str | Path | None = None) -> registry.LoadedSet | None:
    """One benchmark with its provenance, or None for an optional one that is not available locally.

    A registered name (``alignscope data list``) is read from ``path`` when given (a local copy in
    the upstream layout), else the workspace fetch cache, else the Hub. Any other name needs
    ``path``: a plain prompt file. A built-in set given a ``path`` reads that file, as before.
    """
    entry = registry.REGISTRY.get(spec.name)
    if entry is not None and entry.kind != "benchmark":
        raise AlignscopeError(f"benchmark {spec.name!r}: a {entry.kind} set, not a benchmark")
    if spec.optional and (why := _unavailable(spec, entry, workspace)):
        console.print(f"[yellow]skipping benchmark {spec.name}: {why} (optional)[/yellow]")
        return None
    sel = {"limit": spec.limit, "categories": spec.categories, "seed": spec.seed, "subset": spec.subset}
    if entry is not None and not (spec.path and entry.builtin):
        loaded = entry.load(spec.path, workspace=workspace, **sel)
        if spec.expected:
            records = [dataclasses.replace(p, expected=spec.expected) for p in loaded.records]
            loaded = dataclasses.replace(loaded, records=records, sha256=registry.records_sha256(records),
                                         notes=(*loaded.notes, f"expected overridden: {spec.expected}"))
        return loaded
    if not spec.path:
        raise AlignscopeError(f"benchmark {spec.name!r}: not a registered set (see `alignscope data list`) and no path given")
    prompts = read_prompts(spec.path, expected=spec.expected or "refuse", source=spec.path)
    records, notes = registry.select(prompts, **sel)
    return registry.LoadedSet(spec.name, "benchmark", records, str(Path(spec.path).resolve()), None,
                              registry.records_sha256(records), notes)


def load_benchmark(spec: BenchmarkSpec, workspace: str | Path | None = None) -> list[EvalPrompt] | None:
    """The prompts of one benchmark, or None for an optional one that is not available locally."""
    loaded = load_benchmark_set(spec, workspace)
    return None if loaded is None else loaded.records


def build_judges(cfg: StudyConfig, ws: Workspace) -> dict[str, Any]:
    """The study's judges by display name; optional ones whose API key is unset are skipped."""
    judges: dict[str, Any] = {}
    for spec in map(as_spec, cfg.evaluation.judges):
        if spec.display in judges:
            raise AlignscopeError(f"two judges are both called {spec.display!r}: give one a `label:`")
        if spec.optional and (var := spec.missing_key()):
            console.print(f"[yellow]skipping judge {spec.display}: ${var} is not set (optional)[/yellow]")
            continue
        judges[spec.display] = get_judge(spec, ws.root)
    return judges


def evaluate(models: list[ModelEntry], benches: dict[str, list[EvalPrompt]], cfg: StudyConfig, ws: Workspace,
             judges: dict[str, Any] | None = None) -> list[dict]:
    """Generate and judge every (model, benchmark); return flat rows joined with prompts."""
    judges = build_judges(cfg, ws) if judges is None else judges
    # one generation call per model: one load, and length-sorted batches across all benchmarks
    everything = [(b, p) for b, ps in benches.items() for p in ps]
    all_gens = []
    for entry in models:
        sampling = cfg.evaluation.sampling
        if entry.eval_system_prompt and not sampling.system_prompt:
            sampling = sampling.model_copy(update={"system_prompt": entry.eval_system_prompt})
        all_gens.append(generate_for(entry, [p for _, p in everything], sampling, ws, cfg.evaluation.batch_size, f"evaluate {entry.key}"))
    from alignscope.generate._vllm import shutdown

    shutdown()  # a vLLM engine (if one runs) gives its memory back before local judges load
    rows = []
    for entry, gens in zip(models, all_gens):
        for name, judge in judges.items():
            verdicts = judge_cached(judge, [(g["key"], p.text, g["text"]) for (_, p), g in zip(everything, gens)], ws.store,
                                    description=f"judge {entry.key} ({name})")
            rows += [{"model": entry.key, "benchmark": b, "judge": judge.key, "judge_name": name, "judge_kind": judge.kind,
                      "prompt": p, "generation": g, "verdict": v} for (b, p), g, v in zip(everything, gens, verdicts)]
    return rows


# --------------------------------------------------------------------------- results


def report_failures(rows: list[dict]) -> None:
    """Say, per judge, how many verdicts failed: they are excluded from every rate, and a re-run
    retries the ones that failed in transport."""
    failed: dict[str, int] = {}
    for r in rows:
        if r["verdict"]["error"]:
            failed[r["judge_name"]] = failed.get(r["judge_name"], 0) + 1
    for name, n in failed.items():
        console.print(f"[yellow]judge {name}: {n} verdicts failed (excluded from rates, never counted safe or unsafe); "
                      "run the study again to retry transport failures[/yellow]")


def _metric_rows(rows: list[dict], group_keys: tuple[str, ...]) -> list[dict]:
    """One row per (group, metric). Prompts are split by expected behaviour, so a benchmark
    mixing harmful and benign prompts (XSTest) gets ASR on the one and over-refusal on the other."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        k = tuple(r[g] if g in r else r["prompt"].category for g in group_keys)
        groups.setdefault((*k, r["judge_name"], r["judge_kind"], r["prompt"].expected), []).append(r)
    out = []
    for (*k, judge_name, kind, expected), members in groups.items():
        for metric, r in judge_metrics(kind, [m["verdict"] for m in members], expected).items():
            out.append({**dict(zip(group_keys, k)), "judge": judge_name, "judge_kind": kind, "metric": metric, **r.as_dict()})
    return out


def _examples(rows: list[dict], benches: dict[str, list[EvalPrompt]], per_model: int) -> list[dict]:
    refuse = [b for b, ps in benches.items() if ps and ps[0].expected == "refuse"]
    if not refuse or per_model == 0:
        return []
    step = max(1, len(benches[refuse[0]]) // per_model)  # spread over categories, same prompts for every model
    chosen = {p.id for p in benches[refuse[0]][::step][:per_model]}
    out: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["benchmark"] != refuse[0] or r["prompt"].id not in chosen:
            continue
        ex = out.setdefault((r["model"], r["prompt"].id), {
            "model": r["model"], "benchmark": r["benchmark"], "prompt_id": r["prompt"].id, "category": r["prompt"].category,
            "prompt": r["prompt"].text, "response": r["generation"]["text"], "label": r["verdict"]["label"], "labels": {}})
        v = r["verdict"]
        ex["labels"][r["judge_name"]] = "error" if v["error"] else (v["label"] if v["label"] is not None else v["score"])
    return list(out.values())


def _training_provenance(m: ModelEntry) -> dict:
    """What a trained model's provenance.json says, minus what the report already shows."""
    path = Path(m.resolved.path) / "provenance.json"
    if not path.is_file():
        return {}
    prov = json.loads(path.read_text())
    keep = ("parent_fingerprint", "seed", "data_sha256", "n_examples", "supervised_tokens", "chat_template_sha256", "train_seconds", "final_loss")
    return {k: prov[k] for k in keep if k in prov}


def _describe(judge: Any) -> dict:
    return judge.describe() if hasattr(judge, "describe") else {"key": judge.key}


def _benchmark_entries(benches: dict[str, list[EvalPrompt]], datasets: dict[str, dict]) -> list[dict]:
    """One entry per benchmark, with the registry's provenance (exact source, revision, sha256 of
    the loaded records, notes such as which HEx-PHI release) when the set came through it."""
    out = []
    for b, ps in benches.items():
        entry = {"name": b, "expected": ps[0].expected, "n": len(ps), "source": ps[0].source,
                 "sha256": stable_hash([(p.id, p.text) for p in ps])}
        if b in datasets:
            entry.update({k: datasets[b][k] for k in ("source", "revision", "sha256", "notes")})
        out.append(entry)
    return out


def study_statistics(cfg: StudyConfig, models: list[ModelEntry], rows: list[dict], metrics: list[dict]) -> dict:
    """Paired comparisons (each fine-tune vs its parent, one-factor contrasts inside grids, and the
    study's ``report.compare`` pairs), per-prompt flips, seed aggregates, grids and paper references."""
    cells = [analysis.CellInfo(m.key, m.grid["name"], m.grid["params"], m.grid["seed"]) for m in models if m.grid]
    parents = {m.key: m.parent for m in models if m.parent}
    pairs = [analysis.Pair(p, k, "parent") for k, p in parents.items()] + analysis.factor_pairs(cells)
    pairs += [analysis.Pair(a, b, "requested") for a, b in cfg.report.compare]
    return {
        "grids": analysis.grid_summaries(cells, parents),
        "comparisons": analysis.compare_pairs(rows, pairs, cfg.report.bootstrap, cfg.seed),
        "aggregates": analysis.seed_aggregates(metrics, cells),
        "flips": analysis.flips(rows, parents),
        "references": [r.model_dump() for r in cfg.report.references],
    }


def _generation_provenance(m: ModelEntry, cfg: GenerateConfig, rows: list[dict]) -> dict:
    """Which backend produced the model's responses (as the store recorded them) and, for api, the
    served name and the endpoint (never its key)."""
    backends = sorted({r["generation"]["backend"] for r in rows if r["model"] == m.key}) or [generation_backend(m, cfg)]
    out: dict[str, Any] = {"backend": "+".join(backends)}
    if "api" in backends:
        out.update(served_name=served_name(m.resolved, m.key, cfg.served_names), base_url=public_url(cfg.endpoint.resolved().base_url))
    if "vllm" in backends:
        out.update(tensor_parallel_size=cfg.tensor_parallel_size, lora_unmerged=m.resolved.kind == "adapter")
    return out


def build_results(cfg: StudyConfig, models: list[ModelEntry], benches: dict[str, list[EvalPrompt]], rows: list[dict], timings: dict,
                  judges: dict[str, Any] | None = None, datasets: dict[str, dict] | None = None) -> dict:
    """``datasets``: each benchmark's ``LoadedSet.provenance()`` by name (see ``load_benchmark_set``)."""
    metrics = _metric_rows(rows, ("model", "benchmark"))
    generation = {m.key: _generation_provenance(m, cfg.evaluation.generate, rows) for m in models}
    return {
        "study": cfg.name,
        "created": now_iso(),
        "description": cfg.description,
        "models": [{"key": m.key, "label": m.label, "parent": m.parent, "recipe": m.recipe,
                    "fingerprint": fingerprint(m.resolved), "path": m.resolved.path,
                    "eval_system_prompt": m.eval_system_prompt, "info": m.info, "grid": m.grid, **generation[m.key]} for m in models],
        "benchmarks": _benchmark_entries(benches, datasets or {}),
        "metrics": metrics,
        "per_category": _metric_rows(rows, ("model", "benchmark", "category")),
        "examples": _examples(rows, benches, cfg.report.examples_per_model),
        **study_statistics(cfg, models, rows, metrics),
        "provenance": {**library_versions(), "seed": cfg.seed, "base_model": cfg.base_model,
                       "sampling": cfg.evaluation.sampling.model_dump(), "judges": {name: _describe(j) for name, j in (judges or {}).items()},
                       "models": {m.key: _training_provenance(m) for m in models if m.parent}, "generation": generation},
        "timings": timings,
    }


def run_study(cfg: StudyConfig) -> dict[str, Path]:
    """Run (or resume) a whole study; return the written report files."""
    import torch

    torch.manual_seed(cfg.seed)
    if cfg.evaluation.generate.backend == "vllm":  # before any training, not after it
        from alignscope.generate._vllm import require_vllm

        require_vllm()
    ws = Workspace(Path(cfg.workspace), cfg.evaluation.generate, cfg.training)
    out = cfg.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.resolved.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    timings: dict[str, float] = {}
    t = time.time()
    base = ModelEntry("base", cfg.base_label or cfg.base_model, resolve_model(cfg.base_model, ws.root))
    models = {"base": base}
    timings["resolve"] = round(time.time() - t, 1)
    if cfg.align:
        t = time.time()
        models["aligned"] = align_stage(base, cfg.align, ws, cfg.seed)
        timings["align"] = round(time.time() - t, 1)
    cells = cfg.cells()
    for i, cell in enumerate(cells):
        spec, t = cell.spec, time.time()
        parent = spec.parent or ("aligned" if cfg.align else "base")
        if parent not in models:
            raise AlignscopeError(f"fine-tune {spec.name!r}: parent {parent!r} is not defined before it")
        if len(cells) > 1:
            console.print(f"[dim]fine-tune {i + 1}/{len(cells)}: {escape(spec.name)}[/dim]")
        models[spec.name] = finetune_stage(spec, models[parent], ws, cfg.seed)
        if cell.grid is not None:
            models[spec.name].grid = {"name": cell.grid, "params": cell.params, "seed": cell.seed}
        timings[f"finetune:{spec.name}"] = round(time.time() - t, 1)
    loaded = {s.name: ls for s in cfg.evaluation.benchmarks if (ls := load_benchmark_set(s, cfg.workspace)) is not None}
    benches = {name: ls.records for name, ls in loaded.items()}
    t = time.time()
    judges = build_judges(cfg, ws)
    rows = evaluate(list(models.values()), benches, cfg, ws, judges)
    timings["evaluate"] = round(time.time() - t, 1)
    report_failures(rows)
    results = build_results(cfg, list(models.values()), benches, rows, timings, judges,
                            {name: ls.provenance() for name, ls in loaded.items()})
    write_json_atomic(out / "models.json", {k: m.resolved.path for k, m in models.items()})
    return write_report(results, out)
