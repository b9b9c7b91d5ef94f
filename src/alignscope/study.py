"""Run a study end to end: resolve → align → fine-tune → evaluate → results → report.

Every stage is content-addressed: trained models live in the workspace under a hash of
(parent weights, training data, hyper-parameters); generations and verdicts live in the
SQLite store under hashes of their inputs. Re-running a finished study recomputes nothing;
re-running a killed one does only what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import yaml
from rich.markup import escape

from alignscope import registry
from alignscope.assemble import build_results
from alignscope.check import RUN_MARKER, require_valid
from alignscope.config import StudyConfig
from alignscope.errors import AlignscopeError
from alignscope.evaluation import evaluate, report_failures
from alignscope.generate import require_vllm
from alignscope.judge import build_judges
from alignscope.models import resolve_model
from alignscope.progress import console
from alignscope.provenance import write_json_atomic, write_text_atomic
from alignscope.report import write_report
from alignscope.train.stages import align_stage, finetune_stage
from alignscope.workspace import ModelEntry, Workspace


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record the wall time of a block under ``name`` (seconds, one decimal)."""
    t = time.time()
    yield
    timings[name] = round(time.time() - t, 1)


def run_study(cfg: StudyConfig, force: bool = False) -> dict[str, Path]:
    """Run (or resume) a whole study; return the written report files.

    Args:
        cfg: The study (``load_study`` remembers its file, for line numbers and run-folder ownership).
        force: Write into an output folder that holds the run of another study file.

    Raises:
        AlignscopeError: listing every problem the validation pass finds, before anything is written.
    """
    require_valid(cfg, cfg.source, force)
    torch.manual_seed(cfg.seed)
    if cfg.evaluation.generate.backend == "vllm":  # before any training, not after it
        require_vllm()
    ws, out = Workspace(Path(cfg.workspace)), cfg.out_dir
    timings: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.resolved.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    if cfg.source is not None:
        write_json_atomic(out / RUN_MARKER, {"study": cfg.name, "study_file": str(cfg.source.resolve())})
    with timed(timings, "resolve"):
        models = {"base": ModelEntry("base", cfg.base_label or cfg.base_model, resolve_model(cfg.base_model, ws.root))}
    if cfg.align:
        with timed(timings, "align"):
            models["aligned"] = align_stage(
                models["base"], cfg.align, ws, cfg.evaluation.generate, cfg.launch, cfg.seed
            )
    finetune_all(cfg, models, ws, timings)
    skipped: list[dict[str, str]] = []  # what the study asked for and did not measure: said in the report
    loaded = load_benchmarks(cfg, skipped)
    benches = {name: ls.records for name, ls in loaded.items()}
    with timed(timings, "evaluate"):
        skipped_judges: list[tuple[str, str]] = []
        judges = build_judges(cfg.evaluation.judges, ws.root, skipped_judges)
        skipped += [{"kind": "judge", "name": name, "reason": why} for name, why in skipped_judges]
        rows = evaluate(list(models.values()), benches, cfg, ws, judges)
    report_failures(rows)
    datasets = {name: ls.provenance() for name, ls in loaded.items()}
    results = build_results(cfg, list(models.values()), benches, rows, timings, judges, datasets, skipped)
    write_json_atomic(out / "models.json", {k: m.resolved.path for k, m in models.items()})
    return write_report(results, out)


def load_benchmarks(cfg: StudyConfig, skipped: list[dict[str, str]]) -> dict[str, registry.LoadedSet]:
    """The study's benchmarks by name; an optional one that is not available locally is left out and
    recorded in ``skipped`` with the reason."""
    loaded = {}
    for spec in cfg.evaluation.benchmarks:
        if why := registry.skip_reason(spec, cfg.workspace):
            console.print(f"[yellow]skipping benchmark {spec.name}: {why} (optional)[/yellow]")
            skipped.append({"kind": "benchmark", "name": spec.name, "reason": f"{why}; the benchmark is optional"})
        elif (ls := registry.load_benchmark_set(spec, cfg.workspace)) is not None:
            loaded[spec.name] = ls
    return loaded


def finetune_all(cfg: StudyConfig, models: dict[str, ModelEntry], ws: Workspace, timings: dict[str, float]) -> None:
    """Every fine-tune (each grid cell too), in study order, each from its parent; adds them to ``models``."""
    cells = cfg.cells()
    for i, cell in enumerate(cells):
        spec = cell.spec
        parent = spec.parent or ("aligned" if cfg.align else "base")
        if parent not in models:
            raise AlignscopeError(f"fine-tune {spec.name!r}: parent {parent!r} is not defined before it")
        if len(cells) > 1:
            console.print(f"[dim]fine-tune {i + 1}/{len(cells)}: {escape(spec.name)}[/dim]")
        with timed(timings, f"finetune:{spec.name}"):
            entry = finetune_stage(spec, models[parent], ws, cfg.evaluation.generate, cfg.launch, cfg.seed)
        if cell.grid is not None:
            entry.grid = {"name": cell.grid, "params": cell.params, "seed": cell.seed}
        models[spec.name] = entry
