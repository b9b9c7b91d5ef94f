"""``alignscope data``: list, show, validate and fetch the registered data sets (docs/DATASETS.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Safety benchmarks, fine-tuning sets and preference sets: list, show, validate, fetch.",
)

PathOpt = Annotated[
    Path | None, typer.Option("--path", "-p", help="a local copy in the upstream layout (file or directory)")
]
WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="workspace whose fetch cache is used")]
Limit = Annotated[int | None, typer.Option(min=1, help="keep the first N records (after --seed shuffling)")]
Categories = Annotated[list[str] | None, typer.Option("--categories", "-c", help="keep this category (repeatable)")]
Seed = Annotated[int | None, typer.Option(help="shuffle deterministically before --limit")]
Subset = Annotated[list[str] | None, typer.Option("--subset", help="keep this subset, e.g. contextual (repeatable)")]
ROWS_SHOWN = 5


def _console() -> Any:
    from rich.console import Console

    return Console(width=160, markup=False, highlight=False)  # data text like "[placeholder]" is not markup


def _cells(values: list[str]) -> list[Any]:
    from rich.text import Text

    return [Text(v) for v in values]


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


@app.command("list")
def list_sets(kind: Annotated[str | None, typer.Option(help="benchmark | finetune | preference")] = None) -> None:
    """Every registered set: kind, size, source, license, gated, expected behaviour."""
    from rich.table import Table

    from alignscope import registry

    table = Table("name", "kind", "size", "source", "license", "gated", "expected")
    for name in registry.names(kind):  # type: ignore[arg-type]
        e = registry.get(name)
        table.add_row(
            *_cells([name, e.kind, e.size, e.source, e.license, "yes" if e.gated else "no", e.expected or ""])
        )
    _console().print(table)


def _record_row(r: Any) -> list[str]:
    from alignscope.data import Conversation, EvalPrompt

    if isinstance(r, EvalPrompt):
        return [r.id, r.category, r.expected, _short(r.text)]
    if isinstance(r, Conversation):
        return [str(r.meta.get("category", "")), _short(r.messages[-2].content, 60), _short(r.messages[-1].content, 60)]
    return [r.id, r.category, _short(r.prompt, 50), _short(r.chosen, 40), _short(r.rejected, 40)]


HEADERS = {
    "benchmark": ("id", "category", "expected", "text"),
    "finetune": ("category", "user", "assistant"),
    "preference": ("id", "category", "prompt", "chosen", "rejected"),
}


@app.command()
def show(
    name: str,
    path: PathOpt = None,
    workspace: WorkspaceOpt = Path(".alignscope"),
    limit: Limit = None,
    categories: Categories = None,
    seed: Seed = None,
    subset: Subset = None,
) -> None:
    """Load a set and print its size, categories, license, provenance and five rows."""
    from rich.table import Table

    from alignscope import registry
    from alignscope.registry import record_category

    entry = registry.get(name)
    loaded = entry.load(path, limit=limit, categories=categories, seed=seed, subset=subset, workspace=workspace)
    con = _console()
    con.print(f"{name} ({entry.kind}): {entry.description}")
    for key, value in (
        ("rows", len(loaded)),
        ("source", loaded.source),
        ("revision", loaded.revision or "—"),
        ("sha256", loaded.sha256),
        ("license", entry.license),
        ("gated", "yes" if entry.gated else "no"),
        ("citation", entry.citation),
        *(("note", n) for n in loaded.notes),
    ):
        con.print(f"  {key}: {value}")
    cats = Table("category", "rows")
    for cat, n in sorted(Counter(record_category(r) for r in loaded.records).items()):
        cats.add_row(*_cells([cat, str(n)]))
    con.print(cats)
    rows = Table(*HEADERS[entry.kind])
    for r in loaded.records[:ROWS_SHOWN]:
        rows.add_row(*_cells(_record_row(r)))
    con.print(rows)


def _line_of(problem: str, file: Path) -> int:
    """The line number a ``FILE:LINE: field: ...`` problem names (0 if none)."""
    rest = problem.removeprefix(f"{file}:")
    head = rest.split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def _looks_like_conversations(path: Path) -> bool:
    from alignscope.data import file_rows

    first = next(iter(file_rows(path, [])), (None, None))[1]  # the first row that parses
    return isinstance(first, list) or (
        isinstance(first, dict) and ("messages" in first or {"instruction", "output"} <= first.keys())
    )


SHOWN_PROBLEMS = 50  # `data validate` lists this many bad rows, then counts the rest


@app.command()
def validate(
    file: Path,
    as_: Annotated[str | None, typer.Option("--as", help="check against this set's upstream layout")] = None,
) -> None:
    """Check a local file (every row) against a set's layout, or the generic prompt / conversation readers.

    Every bad row is reported (the first 50, then a count) as FILE:LINE: FIELD: what is wrong, with exit
    code 2. With --as, the set's own reader stops at the first problem.
    """
    from alignscope import registry
    from alignscope.data import read_conversations, read_prompts
    from alignscope.errors import AlignscopeError

    if not file.exists():
        raise AlignscopeError(f"{file}: file not found")
    problems: list[str] = []
    if as_:
        loaded = registry.load(as_, file)
        what = f"{len(loaded)} {as_} records"
    elif file.suffix in (".json", ".jsonl") and _looks_like_conversations(file):
        what = f"{len(read_conversations(file, problems))} conversations"
    else:
        what = f"{len(read_prompts(file, problems=problems))} prompts"
    if problems:
        problems.sort(key=lambda p: _line_of(p, file))  # JSON errors are found in a first pass: file order
        shown = problems[:SHOWN_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise AlignscopeError(f"{file}: {len(problems)} bad rows ({what} fine):\n" + "\n".join(shown) + more)
    typer.echo(f"{file}: ok, {what}")


@app.command()
def fetch(
    name: str,
    workspace: WorkspaceOpt = Path(".alignscope"),
    from_: Annotated[
        Path | None, typer.Option("--from", help="copy from a local Hub-layout directory instead of downloading")
    ] = None,
) -> None:
    """Download a set from the Hub into the workspace cache, so later runs are offline."""
    from alignscope import registry

    loaded = registry.fetch(name, workspace, from_)
    typer.echo(
        f"{name}: {len(loaded)} records from {loaded.source}; "
        f"cached in {registry.cache_dir(workspace, registry.get(name))}"
    )
