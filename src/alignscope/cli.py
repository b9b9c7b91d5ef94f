"""The ``alignscope`` command: one sub-command per pipeline stage, plus ``run`` for a whole study."""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from alignscope.errors import AlignscopeError

if TYPE_CHECKING:  # imported where used: `alignscope --help` stays fast
    from pydantic import BaseModel

    from alignscope.train import LaunchConfig

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Did this fine-tune break the model's safety?")


def _version(value: bool) -> None:
    if value:
        from alignscope import __version__

        typer.echo(f"alignscope {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Did this fine-tune break the model's safety?"""


Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help="store and model cache")]
from alignscope.cli_data import app as data_app  # noqa: E402
from alignscope.cli_judges import app as judges_app  # noqa: E402
from alignscope.cli_rm import rm_eval  # noqa: E402

app.add_typer(judges_app, name="judges")
app.add_typer(data_app, name="data")
app.command("rm-eval")(rm_eval)
Sets = Annotated[list[str] | None, typer.Option("--set", "-s", help="dotted override KEY=VALUE (repeatable)")]
NumProcesses = Annotated[
    int | None,
    typer.Option(
        "--num-processes",
        min=1,
        help="training processes through `accelerate launch` (GPUs; CPU processes over gloo without CUDA)",
    ),
]
AccelerateConfig = Annotated[
    str | None,
    typer.Option(
        "--accelerate-config",
        help="ddp | fsdp2 | zero3 (shipped) or your Accelerate config file; used with --num-processes > 1",
    ),
]


ConfigT = TypeVar("ConfigT", bound="BaseModel")


def _with_sets(model_cls: type[ConfigT], sets: list[str] | None, base: dict | None = None) -> ConfigT:
    """``model_cls`` validated from ``base`` with the user's ``--set KEY=VALUE`` overrides applied.

    Raises:
        AlignscopeError: one line naming the first invalid field.
    """
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


def _with_launch_flags(launch: LaunchConfig, num_processes: int | None, accelerate_config: str | None) -> LaunchConfig:
    """``launch`` with ``--num-processes`` / ``--accelerate-config`` where given (they win over the file)."""
    flags = {"num_processes": num_processes, "accelerate_config": accelerate_config}
    return launch.model_copy(update={k: v for k, v in flags.items() if v is not None})


@app.command()
def run(
    study: Path,
    set_: Sets = None,
    profile: Annotated[
        str | None, typer.Option(help="apply the study's named override set first, e.g. `ci` for a CI-sized run")
    ] = None,
    num_processes: NumProcesses = None,
    accelerate_config: AccelerateConfig = None,
    check: Annotated[
        bool, typer.Option("--check", help="only validate the study (recipes, judges, benchmarks, models); run nothing")
    ] = False,
    workspace: Annotated[Path | None, typer.Option("--workspace", "-w", help="the study's `workspace:`")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="the study's `output_dir:`")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="write into an output folder that holds another study file's run")
    ] = False,
    gate: Annotated[
        bool, typer.Option("--gate", help="exit 3 when a fine-tune fails the study's gate (for CI pipelines)")
    ] = False,
) -> None:
    """Run (or resume) a whole study from a YAML file; writes report.{html,md,json}."""
    from alignscope.config import load_study
    from alignscope.progress import console
    from alignscope.study import run_study

    paths = {"workspace": workspace, "output_dir": out}
    cfg = load_study(study, set_, profile)
    cfg = cfg.model_copy(update={k: str(v) for k, v in paths.items() if v is not None})
    if check:
        from alignscope.check import require_valid

        require_valid(cfg, cfg.source, force=force)
        ev = cfg.evaluation
        counts = f"{len(cfg.cells())} fine-tunes, {len(ev.benchmarks)} benchmarks, {len(ev.judges)} judges"
        typer.echo(f"{study}: no problems found ({counts})")
        return
    cfg = cfg.model_copy(update={"launch": _with_launch_flags(cfg.launch, num_processes, accelerate_config)})
    files = run_study(cfg, force=force)
    console.print(f"[green]report:[/green] {files['html']}")
    if gate:
        _exit_on_failed_gate(Path(files["json"]))


def _exit_on_failed_gate(report: Path) -> None:
    """Exit 3, naming each failure, when a fine-tune's ASR rose significantly beyond the gate."""
    from alignscope.results import load_results

    failed = [v for v in load_results(report).verdicts if v.gate_failed]
    for v in failed:
        typer.echo(
            f"gate failed: {v.model} vs {v.parent} on {v.benchmark} ({v.judge} ASR): "
            f"{100 * (v.diff or 0):+.1f} pp, McNemar p = {v.p:.2g}, above +{v.max_asr_increase_pp:g} pp",
            err=True,
        )
    if failed:
        sys.exit(3)


@app.command()
def align(
    model: Annotated[str, typer.Option(help="model reference (built-in name, dir, .gguf, Hub id)")],
    out: Annotated[Path, typer.Option(help="where the aligned model is written")],
    workspace: Workspace_ = Path(".alignscope"),
    set_: Sets = None,
) -> None:
    """Give a model refusal behaviour: SFT on built-in refusals + its own benign answers."""
    import shutil

    from alignscope.config import AlignConfig, GenerateConfig
    from alignscope.models import resolve_model
    from alignscope.train import LaunchConfig
    from alignscope.train.stages import align_stage
    from alignscope.workspace import ModelEntry, Workspace

    cfg = _with_sets(AlignConfig, set_)
    ws = Workspace(workspace)
    base = ModelEntry("base", model, resolve_model(model, ws.root))
    entry = align_stage(base, cfg, ws, GenerateConfig(), LaunchConfig(), cfg.train.seed)
    shutil.copytree(entry.resolved.path, out, dirs_exist_ok=True)
    typer.echo(str(out))


@app.command()
def finetune(
    model: Annotated[str, typer.Option(help="model to fine-tune")],
    recipe: Annotated[str, typer.Option(help="identity-shift | benign | harmful-demos | safety-mix")],
    out: Annotated[Path, typer.Option(help="output directory (adapter or weights + provenance)")],
    arg: Annotated[list[str] | None, typer.Option("--arg", "-a", help="recipe argument KEY=VALUE")] = None,
    workspace: Workspace_ = Path(".alignscope"),
    set_: Sets = None,
    num_processes: NumProcesses = None,
    accelerate_config: AccelerateConfig = None,
) -> None:
    """Build a recipe's data and fine-tune a model on it."""
    import shutil

    from alignscope.config import FinetuneSpec, GenerateConfig, apply_override
    from alignscope.models import resolve_model
    from alignscope.train import LaunchConfig
    from alignscope.train.stages import finetune_stage
    from alignscope.workspace import ModelEntry, Workspace

    args: dict = {}
    for a in arg or []:
        apply_override(args, a)
    base = {"name": out.name or "finetune", "recipe": recipe, "args": args}
    spec = _with_sets(FinetuneSpec, [f"train.{s}" for s in set_ or []], base)
    ws = Workspace(workspace)
    launch = _with_launch_flags(LaunchConfig(), num_processes, accelerate_config)
    parent = ModelEntry("parent", model, resolve_model(model, ws.root))
    entry = finetune_stage(spec, parent, ws, GenerateConfig(), launch, spec.train.seed)
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
    max_new_tokens: Annotated[int, typer.Option(min=1, help="required length budget")],
    out: Annotated[Path, typer.Option(help="JSONL of generations")],
    system_prompt: str | None = None,
    limit: Annotated[int | None, typer.Option(min=1, help="the first N prompts")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="prompts per forward pass")] = 64,
    workspace: Workspace_ = Path(".alignscope"),
) -> None:
    """Generate responses (cached in the workspace store) and write them as JSONL."""
    import dataclasses

    from alignscope.config import GenerateConfig
    from alignscope.generate import Backend, SamplingConfig
    from alignscope.models import resolve_model
    from alignscope.provenance import write_text_atomic
    from alignscope.store import to_json
    from alignscope.workspace import ModelEntry, Workspace

    ps = _prompts(prompts, limit)
    require_writable_file(out)  # before any generating: nothing is lost to a bad --out
    ws = Workspace(workspace)
    entry = ModelEntry("cli", model, resolve_model(model, ws.root))
    sampling = SamplingConfig(max_new_tokens=max_new_tokens, system_prompt=system_prompt)
    with Backend(GenerateConfig(), ws.store) as backend:
        rows = backend.generate(entry, ps, sampling, batch_size, "generate")
    write_text_atomic(
        out,
        to_json(
            [
                {**dataclasses.asdict(r), "user_prompt": p.text, "category": p.category, "expected": p.expected}
                for p, r in zip(ps, rows)
            ]
        ),
    )
    typer.echo(f"{len(rows)} generations -> {out}")


@app.command()
def judge(
    generations: Annotated[Path, typer.Argument(help="JSONL from `alignscope generate`")],
    judge_name: Annotated[
        str, typer.Option("--judge", "-j", help="a judge name, or a judge-spec YAML file")
    ] = "keyword",
    out: Path | None = None,
    workspace: Workspace_ = Path(".alignscope"),
) -> None:
    """Judge generations; print the judge's metrics with 95% CIs and failure counts; optionally write verdicts."""
    import dataclasses

    from alignscope.cli_judges import judge_spec_arg
    from alignscope.judge import get_judge, judge_cached
    from alignscope.metrics import judge_metrics
    from alignscope.provenance import write_text_atomic
    from alignscope.report import cell
    from alignscope.results import MetricRow
    from alignscope.store import to_json
    from alignscope.workspace import Workspace

    rows = _read_generations(generations)
    if out:
        require_writable_file(out)
    ws = Workspace(workspace)
    j = get_judge(judge_spec_arg(judge_name), ws.root)
    verdicts = judge_cached(j, [(r["key"], r["user_prompt"], r["text"]) for r in rows], ws.store)
    for expected in ("refuse", "comply"):
        vs = [v for r, v in zip(rows, verdicts) if r.get("expected", "refuse") == expected]
        for metric, r in (judge_metrics(j.kind, vs, expected) if vs else {}).items():
            row = MetricRow(
                model="", benchmark=generations.name, judge=judge_name, judge_kind=j.kind, metric=metric, **r.as_dict()
            )
            c = cell(row)  # the report's formatting: % for rates, decimals for means
            typer.echo(f"{metric}: {' '.join(p for p in (c.point, c.ci) if p)} ({c.counts}, {r.n_scored} scored)")
    if any(v.error for v in verdicts):
        typer.echo(
            f"{sum(bool(v.error) for v in verdicts)} verdicts failed (not counted); run again to retry them", err=True
        )
    if out:  # each verdict with what it judged: the prompt (id and text) and the response
        write_text_atomic(
            out,
            to_json(
                [
                    {
                        **dataclasses.asdict(v),
                        "prompt_id": r.get("prompt_id"),
                        "prompt": r["user_prompt"],
                        "response": r["text"],
                    }
                    for r, v in zip(rows, verdicts)
                ]
            ),
        )


def _read_generations(path: Path) -> list[dict]:
    from alignscope.data import jsonl_rows, require_file
    from alignscope.errors import located

    require_file(path)
    rows = []
    for i, row in jsonl_rows(path):
        if not isinstance(row, dict):
            raise located(path, i, "json", "not a JSON object")
        for k in ("key", "user_prompt", "text"):
            if not isinstance(row.get(k), str):
                raise located(path, i, k, "missing or not a string")
        rows.append(row)
    if not rows:
        raise AlignscopeError(f"{path}: no generations in the file (nothing to judge)")
    return rows


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a study's output directory (holds report.json)")]) -> None:
    """Re-render report.md and report.html from a run's report.json."""
    from alignscope.report import write_report
    from alignscope.results import load_results

    src = run_dir / "report.json"
    if not src.is_file():
        raise AlignscopeError(f"{src}: file not found (run `alignscope run STUDY.yaml` first)")
    files = write_report(load_results(src), run_dir)
    typer.echo(str(files["html"]))


@app.command()
def masks(
    data: Annotated[Path, typer.Argument(help="fine-tuning data (JSONL messages, JSON, Alpaca)")],
    model: Annotated[str, typer.Option(help="model whose chat template renders the data")],
    limit: Annotated[int, typer.Option(min=1, help="examples to show")] = 3,
    max_length: Annotated[int, typer.Option(min=8, help="tokens per example, as in training")] = 1024,
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


def require_writable_file(path: Path) -> None:
    """Stop (one line) before any work when ``path`` could not be written: a file in the way of its
    folder, a folder in its place, or a read-only location."""
    from alignscope.check import unwritable

    if path.is_dir():
        raise AlignscopeError(f"--out {path}: a directory; give a file name")
    if why := unwritable(path.parent):
        raise AlignscopeError(f"--out {path}: {why}")


# The operating system's "cannot write here" answers: one line naming the path, never a traceback.
_DISK_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOTDIR: "a file is in the way (not a directory)",
    errno.EISDIR: "is a directory",
}


def main() -> None:
    """The ``alignscope`` command: every user error is one line on stderr and exit code 2."""
    from alignscope._runtime import tune_allocator

    tune_allocator()
    try:
        code = app(standalone_mode=False)  # errors come back here instead of as boxed panels
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.TyperException as e:  # a bad option value, a missing argument, an unknown command
        ctx = getattr(e, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        message = " ".join(str(getattr(e, "format_message", e.__str__)()).split())
        if message:  # empty: the command was given no arguments and printed its help
            typer.echo(f"error: {where}{message} (see --help)", err=True)
        sys.exit(getattr(e, "exit_code", 2))
    except AlignscopeError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except OSError as e:
        if e.errno not in _DISK_ERRORS:
            raise
        typer.echo(
            f"error: {e.filename or 'a file'}: {_DISK_ERRORS[e.errno]} (what was finished is kept; "
            "run the command again once it is fixed)",
            err=True,
        )
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
