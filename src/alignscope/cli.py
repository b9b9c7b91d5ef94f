"""The ``alignscope`` command: one sub-command per pipeline stage, plus ``run`` for a whole study."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from alignscope.errors import AlignscopeError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Did this fine-tune break the model's safety?")
Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help="store and model cache")]
from alignscope.cli_judges import app as judges_app  # noqa: E402
from alignscope.cli_data import app as data_app  # noqa: E402
from alignscope.cli_rm import rm_eval  # noqa: E402

app.add_typer(judges_app, name="judges")
app.add_typer(data_app, name="data")
app.command("rm-eval")(rm_eval)
Sets = Annotated[Optional[list[str]], typer.Option("--set", "-s", help="dotted override KEY=VALUE (repeatable)")]
NumProcesses = Annotated[Optional[int], typer.Option(
    "--num-processes", min=1, help="training processes through `accelerate launch` (GPUs; CPU processes over gloo without CUDA)")]
AccelerateConfig = Annotated[Optional[str], typer.Option(
    "--accelerate-config", help="ddp | fsdp2 | zero3 (shipped) or your Accelerate config file; used with --num-processes > 1")]


def _overrides_dict(model_cls: type, sets: list[str] | None, base: dict | None = None) -> object:
    from pydantic import ValidationError

    from alignscope.config import apply_override

    data = dict(base or {})
    for s in sets or []:
        apply_override(data, s)
    try:
        return model_cls.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise AlignscopeError(f"--set: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


@app.command()
def run(
    study: Path,
    set_: Sets = None,
    profile: Annotated[Optional[str], typer.Option(help="apply the study's named override set first, e.g. `ci` for a CI-sized run")] = None,
    num_processes: NumProcesses = None,
    accelerate_config: AccelerateConfig = None,
) -> None:
    """Run (or resume) a whole study from a YAML file; writes report.{html,md,json}."""
    from alignscope.config import load_study
    from alignscope.progress import console
    from alignscope.study import run_study

    # JSON is YAML: any path survives --set's YAML parsing as a string
    launch = [f"training.{k}={json.dumps(v)}" for k, v in (("num_processes", num_processes), ("accelerate_config", accelerate_config)) if v is not None]
    files = run_study(load_study(study, [*(set_ or []), *launch], profile))
    console.print(f"[green]report:[/green] {files['html']}")


@app.command()
def align(
    model: Annotated[str, typer.Option(help="model reference (built-in name, dir, .gguf, Hub id)")],
    out: Annotated[Path, typer.Option(help="where the aligned model is written")],
    workspace: Workspace_ = Path(".alignscope"),
    set_: Sets = None,
) -> None:
    """Give a model refusal behaviour: SFT on built-in refusals + its own benign answers."""
    import shutil

    from alignscope.config import AlignConfig
    from alignscope.models import resolve_model
    from alignscope.study import ModelEntry, Workspace, align_stage

    cfg = _overrides_dict(AlignConfig, set_)
    ws = Workspace(workspace)
    entry = align_stage(ModelEntry("base", model, resolve_model(model, ws.root)), cfg, ws, cfg.train.seed)  # type: ignore[attr-defined]
    shutil.copytree(entry.resolved.path, out, dirs_exist_ok=True)
    typer.echo(str(out))


@app.command()
def finetune(
    model: Annotated[str, typer.Option(help="model to fine-tune")],
    recipe: Annotated[str, typer.Option(help="identity-shift | benign | harmful-demos | safety-mix")],
    out: Annotated[Path, typer.Option(help="output directory (adapter or weights + provenance)")],
    arg: Annotated[Optional[list[str]], typer.Option("--arg", "-a", help="recipe argument KEY=VALUE")] = None,
    workspace: Workspace_ = Path(".alignscope"),
    set_: Sets = None,
    num_processes: NumProcesses = None,
    accelerate_config: AccelerateConfig = None,
) -> None:
    """Build a recipe's data and fine-tune a model on it."""
    import shutil

    from alignscope.config import FinetuneSpec, TrainingConfig, apply_override
    from alignscope.models import resolve_model
    from alignscope.study import ModelEntry, Workspace, finetune_stage

    args: dict = {}
    for a in arg or []:
        apply_override(args, a)
    spec = _overrides_dict(FinetuneSpec, [f"train.{s}" for s in set_ or []], {"name": out.name or "finetune", "recipe": recipe, "args": args})
    training = TrainingConfig(num_processes=num_processes or 1, accelerate_config=accelerate_config or "ddp")
    ws = Workspace(workspace, training=training)
    entry = finetune_stage(spec, ModelEntry("parent", model, resolve_model(model, ws.root)), ws, spec.train.seed)  # type: ignore[attr-defined]
    shutil.copytree(entry.resolved.path, out, dirs_exist_ok=True)
    typer.echo(str(out))


def _prompts(spec: str, limit: int | None) -> list:
    from alignscope.data import BUILTIN_PROMPT_SETS, builtin_prompts, read_prompts

    name = spec.removeprefix("builtin:")
    prompts = builtin_prompts(name) if name in BUILTIN_PROMPT_SETS and not Path(spec).exists() else read_prompts(spec)
    return prompts[:limit] if limit else prompts


@app.command()
def generate(
    model: Annotated[str, typer.Option(help="model reference")],
    prompts: Annotated[str, typer.Option(help="prompt file, or builtin:probe / builtin:overrefusal")],
    max_new_tokens: Annotated[int, typer.Option(help="required length budget")],
    out: Annotated[Path, typer.Option(help="JSONL of generations")],
    system_prompt: Optional[str] = None,
    limit: Optional[int] = None,
    batch_size: int = 64,
    workspace: Workspace_ = Path(".alignscope"),
) -> None:
    """Generate responses (cached in the workspace store) and write them as JSONL."""
    from alignscope.generate import SamplingConfig
    from alignscope.models import resolve_model
    from alignscope.store import to_json
    from alignscope.study import ModelEntry, Workspace, generate_for

    ws = Workspace(workspace)
    ps = _prompts(prompts, limit)
    entry = ModelEntry("cli", model, resolve_model(model, ws.root))
    rows = generate_for(entry, ps, SamplingConfig(max_new_tokens=max_new_tokens, system_prompt=system_prompt), ws, batch_size, "generate")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json([{**r, "user_prompt": p.text, "category": p.category, "expected": p.expected} for p, r in zip(ps, rows)]))
    typer.echo(f"{len(rows)} generations -> {out}")


@app.command()
def judge(
    generations: Annotated[Path, typer.Argument(help="JSONL from `alignscope generate`")],
    judge_name: Annotated[str, typer.Option("--judge", help="a judge name, or a judge-spec YAML file")] = "keyword",
    out: Optional[Path] = None,
    workspace: Workspace_ = Path(".alignscope"),
) -> None:
    """Judge generations; print the judge's metrics with 95% CIs and failure counts; optionally write verdicts."""
    from alignscope.cli_judges import judge_spec_arg
    from alignscope.judge import get_judge, judge_cached
    from alignscope.metrics import judge_metrics
    from alignscope.report._view import cell
    from alignscope.store import to_json
    from alignscope.study import Workspace

    rows = _read_generations(generations)
    ws = Workspace(workspace)
    j = get_judge(judge_spec_arg(judge_name), ws.root)
    verdicts = judge_cached(j, [(r["key"], r["user_prompt"], r["text"]) for r in rows], ws.store)
    for expected in ("refuse", "comply"):
        vs = [v for r, v in zip(rows, verdicts) if r.get("expected", "refuse") == expected]
        for metric, r in (judge_metrics(j.kind, vs, expected) if vs else {}).items():
            c = cell({**r.as_dict(), "metric": metric})  # the report's formatting: % for rates, decimals for means
            typer.echo(f"{metric}: {' '.join(p for p in (c.point, c.ci) if p)} ({c.counts}, {r.n_scored} scored)")
    if any(v["error"] for v in verdicts):
        typer.echo(f"{sum(bool(v['error']) for v in verdicts)} verdicts failed (not counted); run again to retry them", err=True)
    if out:
        out.write_text(to_json(verdicts))


def _read_generations(path: Path) -> list[dict]:
    from alignscope.data._readers import _jsonl_rows, _require_file
    from alignscope.errors import located

    _require_file(path)
    rows = []
    for i, row in _jsonl_rows(path):
        if not isinstance(row, dict):
            raise located(path, i, "json", "not a JSON object")
        for k in ("key", "user_prompt", "text"):
            if not isinstance(row.get(k), str):
                raise located(path, i, k, "missing or not a string")
        rows.append(row)
    return rows


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a study's output directory (holds report.json)")]) -> None:
    """Re-render report.md and report.html from a run's report.json."""
    from alignscope.report import write_report

    src = run_dir / "report.json"
    if not src.is_file():
        raise AlignscopeError(f"{src}: file not found (run `alignscope run STUDY.yaml` first)")
    files = write_report(json.loads(src.read_text()), run_dir)
    typer.echo(str(files["html"]))


@app.command()
def masks(
    data: Annotated[Path, typer.Argument(help="fine-tuning data (JSONL messages, JSON, Alpaca)")],
    model: Annotated[str, typer.Option(help="model whose chat template renders the data")],
    limit: int = 3,
    max_length: int = 1024,
    workspace: Workspace_ = Path(".alignscope"),
) -> None:
    """Show which tokens are supervised (wrapped in double square brackets), with counts per example."""
    from alignscope.data import read_conversations
    from alignscope.models import load_tokenizer, resolve_model
    from alignscope.train import render_masks, tokenize_conversation

    convs = read_conversations(data)
    tok = load_tokenizer(resolve_model(model, workspace))
    for i, conv in enumerate(convs[:limit]):
        ex = tokenize_conversation(tok, conv, max_length)
        typer.echo(f"--- example {i}: {len(ex.input_ids)} tokens, {ex.n_supervised} supervised")
        typer.echo(render_masks(tok, ex))
    if len(convs) > limit:
        typer.echo(f"... {len(convs) - limit} more (use --limit)")


def main() -> None:
    from alignscope._runtime import tune_allocator

    tune_allocator()
    try:
        app()
    except AlignscopeError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
