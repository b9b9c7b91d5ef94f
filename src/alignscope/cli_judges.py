"""``alignscope judges``: list the judges, and measure how far they agree (with each other and with people)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alignscope.errors import AlignscopeError, located
from alignscope.provenance import write_text_atomic

if TYPE_CHECKING:
    from alignscope.judge import JudgeSpec

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Judges: list them; measure their agreement.")


def judge_spec_arg(value: str) -> str | JudgeSpec:
    """A judge name, or a YAML/JSON file holding one judge spec ({name, endpoint, template, ...})."""
    from pydantic import ValidationError

    from alignscope.config import read_yaml
    from alignscope.judge import JudgeSpec

    path = Path(value)
    if path.suffix not in (".yaml", ".yml", ".json"):
        return value
    if not path.is_file():
        raise AlignscopeError(f"{path}: judge spec file not found")
    data, _ = read_yaml(path)
    try:
        return JudgeSpec.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise AlignscopeError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def read_pairs(path: Path) -> list[dict]:
    """Rows with a prompt and a response: labelled sets (prompt, response) or `generate` output (user_prompt, text)."""
    from alignscope.data import jsonl_rows, require_file

    require_file(path)
    rows = []
    for i, row in jsonl_rows(path):
        if not isinstance(row, dict):
            raise located(path, i, "json", "not a JSON object")
        prompt, response = row.get("prompt", row.get("user_prompt")), row.get("response", row.get("text"))
        for field, value in (("prompt", prompt), ("response", response)):
            if not isinstance(value, str):
                raise located(path, i, field, "missing or not a string")
        if "label" in row and row["label"] not in ("refusal", "compliance", "partial", None):
            raise located(path, i, "label", f"{row['label']!r} is not refusal, compliance or partial")
        rows.append(
            {
                **row,
                "prompt": prompt,
                "response": response,
                "_key": row.get("key") or hashlib.sha256(f"{prompt}\x00{response}".encode()).hexdigest(),
            }
        )
    if not rows:
        raise AlignscopeError(f"{path}: no rows")
    return rows


@app.command("list")
def list_judges() -> None:
    """The available judges: name, what it measures, and how it judges."""
    from alignscope.judge import JUDGES
    from alignscope.metrics import JUDGE_KINDS

    width = max(map(len, JUDGES))
    for name, entry in JUDGES.items():
        measures = ", ".join(m.label for m in JUDGE_KINDS[entry.kind].metrics)
        typer.echo(f"{name:<{width}}  {entry.description} → {measures}")


@app.command()
def agree(
    pairs: Annotated[
        Path, typer.Argument(help="JSONL of prompt/response rows; human labels in `label`/`harmful` if present")
    ],
    judge: Annotated[
        list[str], typer.Option("--judge", "-j", help="a judge name or a judge-spec YAML (repeat: two or more)")
    ],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="store and model cache")] = Path(".alignscope"),
    out: Annotated[Path | None, typer.Option(help="write the full result (with confusion matrices) as JSON")] = None,
) -> None:
    """Cohen's κ and confusion matrices between judges, and of each judge against the human labels."""
    from alignscope.judge import as_spec, compare, get_judge, human_projection, judge_cached, project
    from alignscope.workspace import Workspace

    rows = read_pairs(pairs)
    ws = Workspace(workspace)
    projections: dict[str, list[dict]] = {}
    for value in judge:
        spec = as_spec(judge_spec_arg(value))
        j = get_judge(spec, ws.root)
        verdicts = judge_cached(
            j, [(r["_key"], r["prompt"], r["response"]) for r in rows], ws.store, description=f"judge ({spec.display})"
        )
        projections[spec.display] = [project(j.kind, v) for v in verdicts]
    names = list(projections)
    results = [
        c for i, a in enumerate(names) for b in names[i + 1 :] for c in compare(projections[a], projections[b], a, b)
    ]
    human = [human_projection(r) for r in rows]
    if any(human):
        results += [c for a in names for c in compare(projections[a], human, a, "human")]
    _print_agreement(results)
    if out:
        write_text_atomic(out, json.dumps({"file": str(pairs), "n": len(rows), "comparisons": results}, indent=2))


def _print_agreement(results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Agreement (Cohen's κ)")
    for col in ("a", "b", "axis", "κ", "accuracy", "compared", "failed", "confusion (rows: a, cols: b)"):
        table.add_column(col)
    for r in results:
        kappa = "undefined" if r["kappa"] is None else f"{r['kappa']:.3f}"
        acc = "—" if r["accuracy"] is None else f"{r['accuracy']:.1%}"
        conf = "; ".join(f"{x}: " + " ".join(f"{y}={c}" for y, c in row.items()) for x, row in r["confusion"].items())
        table.add_row(r["a"], r["b"], r["axis"], kappa, acc, str(r["n_compared"]), str(r["n_failed"]), conf)
    Console().print(table)


@app.command("train-classifier")
def train_classifier(
    out: Annotated[Path, typer.Option(help="where to write the probe JSON")] = Path("refusal_classifier.json"),
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="model cache")] = Path(".alignscope"),
) -> None:
    """Retrain the offline refusal classifier from the team-written data (about 3 minutes on CPU).

    Maintainers: after changing its training data, write it over
    src/alignscope/data/builtin/refusal_classifier.json so the package ships a matching probe.
    """
    from alignscope.judge import train_probe

    probe = train_probe(workspace)
    write_text_atomic(out, json.dumps(probe))
    typer.echo(
        f"layer {probe['layer']}, cross-validated accuracy {probe['cv_accuracy'][str(probe['layer'])]:.3f}, "
        f"{probe['n_train']} training texts -> {out}"
    )
