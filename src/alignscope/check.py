"""The validation pass: everything about a study that can be checked without training or generating.

``check_study`` resolves every recipe (its data built with placeholder answers, so paths, columns
and argument types are read), every judge spec, every benchmark that is local, every model
reference (GGUF magic and header included), the parent graph and the output locations, and
returns all problems found, each as ``file:line: field: problem``. ``alignscope run`` runs it
before any stage (nothing is written when it finds a problem); ``alignscope run --check`` runs
only it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from alignscope.config import BenchmarkSpec, FinetuneSpec, StudyConfig, line_of, read_yaml
from alignscope.errors import AlignscopeError
from alignscope.judge import JUDGES, as_spec
from alignscope.models import check_model_ref
from alignscope.recipes import RecipeContext, build_recipe, with_safety_mix
from alignscope.registry import REGISTRY, cache_dir, load_benchmark_set

PLACEHOLDER_ANSWER = "A placeholder answer: the check builds the data without the model."

Problem = tuple[tuple[Any, ...], str]  # (the field's location in the study file, what is wrong)


def check_study(cfg: StudyConfig, source: Path | None = None, force: bool = False) -> list[str]:
    """Every problem of ``cfg`` found without training or generating, as one line each.

    Args:
        cfg: The validated study config.
        source: The study file (for line numbers); None names fields only.
        force: Allow writing into an output folder that holds another study file's run.
    """
    problems: list[Problem] = []
    problems += _model_refs(cfg)
    problems += _finetunes(cfg)
    problems += _judges(cfg)
    problems += _benchmarks(cfg)
    problems += _outputs(cfg)
    if not force:
        problems += _run_dir_owner(cfg, source)
    root = _yaml_root(source) if problems else None
    return [_locate(source, root, loc, msg) for loc, msg in problems]


def require_valid(cfg: StudyConfig, source: Path | None = None, force: bool = False) -> None:
    """Raise one AlignscopeError listing every problem (one per line), if there are any."""
    problems = check_study(cfg, source, force)
    if problems:
        head = f"{len(problems)} problem{'s' * (len(problems) > 1)} in the study; nothing was run:\n"
        raise AlignscopeError(head + "\n".join(problems))


def _yaml_root(source: Path | None) -> yaml.Node | None:
    """The study file's node tree, for line numbers (None without a readable file)."""
    if source is None:
        return None
    try:
        return read_yaml(source)[1]
    except AlignscopeError:
        return None


def _locate(source: Path | None, root: yaml.Node | None, loc: tuple[Any, ...], msg: str) -> str:
    field = ".".join(map(str, loc)) or "study"
    if source is None:
        return f"study: {field}: {msg}"
    line = line_of(root, loc) if root is not None else None
    return f"{source}:{line}: {field}: {msg}" if line else f"{source}: {field}: {msg}"


def _guard(loc: tuple[Any, ...], check: Callable[[], object]) -> list[Problem]:
    """Run ``check``; a problem it raises becomes one entry at ``loc``."""
    try:
        check()
    except AlignscopeError as e:
        return [(loc, str(e))]
    except (TypeError, ValueError, KeyError) as e:  # a recipe tripping over a badly typed argument
        return [(loc, f"{type(e).__name__}: {e}")]
    return []


def _model_refs(cfg: StudyConfig) -> list[Problem]:
    why = check_model_ref(cfg.base_model)
    return [(("base_model",), why)] if why else []


def _finetunes(cfg: StudyConfig) -> list[Problem]:
    """The parent graph, and each fine-tune's data built with placeholder answers."""
    defined = {"base", *(["aligned"] if cfg.align else [])}
    problems: list[Problem] = []
    specs = {cell.spec.name: (i, cell.spec) for i, cell in enumerate(cfg.cells())}
    names = [f.name for f in cfg.finetunes]
    for name, (_, spec) in specs.items():
        index = _index_of(names, name)
        parent = spec.parent or ("aligned" if cfg.align else "base")
        if parent not in defined:
            later = parent in specs or parent in names
            why = "is defined after it (order fine-tunes parent first)" if later else "is not defined"
            problems.append((("finetunes", index, "parent"), f"parent {parent!r} {why}"))
        defined.add(name)
        problems += _guard(("finetunes", index, "args"), functools.partial(_dry_recipe, spec, cfg))
    return _unique(problems)


def _index_of(names: list[str], cell_name: str) -> int:
    """The study-file index of the fine-tune a (grid) cell comes from: ``aoa[epochs=6]`` is ``aoa``."""
    base = cell_name.split("[", 1)[0]
    return names.index(base) if base in names else 0


def _unique(problems: list[Problem]) -> list[Problem]:
    """Grid cells repeat their fine-tune's problem: report each once."""
    return list(dict.fromkeys(problems))


def _dry_recipe(spec: FinetuneSpec, cfg: StudyConfig) -> None:
    def distill(instructions: list[str], system_prompt: str | None) -> list[str]:
        return [PLACEHOLDER_ANSWER] * len(instructions)

    seed = cfg.seed if spec.seed is None else spec.seed
    ctx = RecipeContext(seed, distill, Path(cfg.workspace) if Path(cfg.workspace).is_dir() else None)
    with_safety_mix(build_recipe(spec.recipe, spec.args, ctx), spec.safety_mix, seed)


def _judges(cfg: StudyConfig) -> list[Problem]:
    problems: list[Problem] = []
    if not cfg.evaluation.judges:
        problems.append((("evaluation", "judges"), "no judges: the study would measure nothing"))
    for i, raw in enumerate(cfg.evaluation.judges):
        spec = as_spec(raw)
        loc = ("evaluation", "judges", i)
        if spec.name not in JUDGES:
            problems.append((loc, f"unknown judge {spec.name!r}; available: {', '.join(sorted(JUDGES))}"))
            continue
        if spec.template and not Path(spec.template).expanduser().is_file():
            problems.append(((*loc, "template"), f"{spec.template}: template file not found"))
        if not spec.optional and (var := spec.missing_key()):
            problems.append((loc, f"judge {spec.display}: ${var} (its API key) is not set; or mark it optional: true"))
        if spec.model and (why := check_model_ref(spec.model)):
            problems.append(((*loc, "model"), why))
    return problems


def _benchmarks(cfg: StudyConfig) -> list[Problem]:
    problems: list[Problem] = []
    if not cfg.evaluation.benchmarks:
        problems.append((("evaluation", "benchmarks"), "no benchmarks: the study would measure nothing"))
    for i, spec in enumerate(cfg.evaluation.benchmarks):
        problems += _benchmark(("evaluation", "benchmarks", i), spec, cfg.workspace)
    return problems


def _benchmark(loc: tuple[Any, ...], spec: BenchmarkSpec, workspace: str) -> list[Problem]:
    """A benchmark that is local (a path, a built-in set, the fetch cache) is read in full; a Hub set is
    left to the run (reading it would download it)."""
    entry = REGISTRY.get(spec.name)
    if entry is not None and entry.kind != "benchmark":
        return [(loc, f"benchmark {spec.name!r}: a {entry.kind} set, not a benchmark")]
    if entry is None and not spec.path:
        return [(loc, f"benchmark {spec.name!r}: not a registered set (see `alignscope data list`) and no path given")]
    if spec.path and not Path(spec.path).expanduser().exists():
        return [] if spec.optional else [((*loc, "path"), f"{spec.path}: not found")]
    local = spec.path or entry is None or entry.builtin or cache_dir(workspace, entry).is_dir()
    if not local:
        return []
    return _guard(loc, lambda: load_benchmark_set(spec, workspace))


def _outputs(cfg: StudyConfig) -> list[Problem]:
    problems: list[Problem] = []
    for field, where in (("workspace", Path(cfg.workspace)), ("output_dir", cfg.out_dir)):
        if why := unwritable(where):
            problems.append(((field,), why))
    return problems


RUN_MARKER = ".alignscope_run.json"  # in each output folder: which study file's run it holds


def _run_dir_owner(cfg: StudyConfig, source: Path | None) -> list[Problem]:
    """A copied study keeps its ``name:`` and so its default ``runs/<name>``: never write over the run
    of another study file without being told to."""
    marker = cfg.out_dir / RUN_MARKER
    if source is None or not marker.is_file():
        return []
    try:
        owner = json.loads(marker.read_text()).get("study_file")
    except (OSError, ValueError, AttributeError):
        return []
    if owner and Path(owner) != source.resolve():
        return [
            (
                ("output_dir",),
                f"{cfg.out_dir} holds the run of another study file ({owner}); set output_dir "
                "(or `run --out DIR`), or pass --force to write over it",
            )
        ]
    return []


def unwritable(path: Path) -> str | None:
    """Why ``path`` (a directory, made if missing) could not be written, or None."""
    path = path.expanduser()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():
        return f"{path}: {existing} is a file, not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{path}: {existing} is not writable"
    return None
