"""The team's safety preference pairs (``data/builtin/safety_pairs.jsonl``, see its datasheet).

Two halves. **should-respond**: borderline-but-benign requests; chosen is a helpful, safe
answer the team wrote, rejected an unnecessary refusal. **should-refuse**: harmful requests;
chosen is a refusal with a safe redirection. The team never writes answers that comply with a
harmful request, so the file ships these pairs with ``"rejected": null`` and the rejected side
is generated at run time: the greedy answer of the model named by ``rejected_from`` (e.g. the
base SmolLM2, which complies), cached in the workspace store like any generation. A generated
answer that is itself a refusal (keyword judge) would make a pair whose two sides both refuse,
so that pair is dropped, and the report says how many were. Generated text never reaches the
report, only counts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from alignscope import registry
from alignscope.data import EvalPrompt, PreferencePair, builtin_path, jsonl_rows, require_file
from alignscope.errors import AlignscopeError, located
from alignscope.generate import HFGenerator, SamplingConfig, generate_cached, render_prompt
from alignscope.judge import KeywordJudge
from alignscope.models import fingerprint, load_model, load_tokenizer, resolve_model
from alignscope.progress import console
from alignscope.provenance import stable_hash
from alignscope.rm._config import TEAM_SET, PairSetSpec, resolve_ref
from alignscope.store import Store

TEAM_FILE = "safety_pairs.jsonl"
EXPECTED_SUBSET = {"respond": "should-respond", "refuse": "should-refuse"}
FIELDS = ("id", "prompt", "chosen", "expected", "category")


def _pair(row: Any, path: Path, line: int) -> PreferencePair:
    """One file row as a pair; a should-refuse row's rejected side stays empty until generated."""
    if not isinstance(row, dict):
        raise located(path, line, "json", "not a JSON object")
    for f in FIELDS:
        if not isinstance(row.get(f), str) or not row[f].strip():
            raise located(path, line, f, "missing or not a non-empty string")
    if row["expected"] not in EXPECTED_SUBSET:
        raise located(path, line, "expected", f"{row['expected']!r} is not refuse or respond")
    rejected = row.get("rejected")
    if rejected is None and row["expected"] == "respond":
        raise located(path, line, "rejected", "a should-respond pair needs its (refusing) rejected side")
    if rejected is not None and not isinstance(rejected, str):
        raise located(path, line, "rejected", "expected a string or null")
    meta = {
        "expected": row["expected"],
        "prompt_source": row.get("prompt_source"),
        "rejected_style": row.get("rejected_style"),
        "rejected_from": None,
    }
    return PreferencePair(
        row["prompt"],
        row["chosen"],
        rejected or "",
        category=row["category"],
        label_source=row.get("label_source", "team"),
        id=row["id"],
        subset=EXPECTED_SUBSET[row["expected"]],
        meta=meta,
    )


def read_team_pairs(path: str | Path | None = None) -> tuple[list[PreferencePair], str]:
    """The pairs of the built-in file (or a file in its format), and where they came from."""
    file = Path(path) if path else Path(str(builtin_path(TEAM_FILE)))
    require_file(file)
    pairs = [_pair(row, file, line) for line, row in jsonl_rows(file)]
    if not pairs:
        raise AlignscopeError(f"{file}: no pairs")
    return pairs, f"builtin:{TEAM_SET}" if path is None else str(file.resolve())


def generate_rejected(
    prompts: list[str], ref: str, max_new_tokens: int, store: Store, cache_dir: Path, batch_size: int = 16
) -> tuple[list[str], dict]:
    """Greedy answers of model ``ref`` to ``prompts``, through the generation cache.

    Returns:
        The answers (aligned with ``prompts``) and the generator's provenance.
    """
    resolved = resolve_model(resolve_ref(ref), cache_dir)
    tok = load_tokenizer(resolved)
    sampling = SamplingConfig(max_new_tokens=max_new_tokens)  # temperature 0: greedy, reproducible
    items = [EvalPrompt(f"team-rejected-{stable_hash(p)[:12]}", p) for p in prompts]

    def render(ps: list[EvalPrompt], s: SamplingConfig) -> list[str]:
        return [render_prompt(tok, p.text, s.system_prompt) for p in ps]

    def factory() -> HFGenerator:
        model, mtok = load_model(resolved)
        return HFGenerator(model, mtok, batch_size)

    fp = fingerprint(resolved)
    rows = generate_cached(
        factory, fp, f"rm-rejected:{ref}", items, sampling, store, render, f"rejected answers ({ref})"
    )
    return [g.text for g in rows], {"model": ref, "fingerprint": fp, "sampling": sampling.model_dump()}


def fill_rejected(pairs: list[PreferencePair], answers: list[str], ref: str) -> tuple[list[PreferencePair], int]:
    """Put the generated answers in as rejected sides; drop pairs whose answer is empty or a refusal.

    Returns:
        The kept pairs and how many were dropped.
    """
    refusal = KeywordJudge()
    kept = [
        dataclasses.replace(p, rejected=a, meta={**p.meta, "rejected_from": ref})
        for p, a in zip(pairs, answers)
        if a.strip() and not refusal.matches(a)
    ]
    return kept, len(pairs) - len(kept)


def load_team_set(spec: PairSetSpec, store: Store, cache_dir: Path) -> registry.LoadedSet:
    """The team pairs after selection, with the should-refuse half filled in from ``rejected_from``."""
    pairs, source = read_team_pairs(spec.path)
    pairs, notes = registry.select(
        pairs, limit=spec.limit, categories=spec.categories, seed=spec.seed, subset=spec.subset
    )
    notes_out = list(notes)
    respond = [p for p in pairs if p.meta["expected"] == "respond"]
    refuse = [p for p in pairs if p.meta["expected"] == "refuse"]
    filled: list[PreferencePair] = []
    rejected_from = spec.rejected_from
    if refuse and rejected_from is None:
        notes_out.append(
            f"should-refuse half skipped ({len(refuse)} pairs): no rejected_from model to generate the rejected side"
        )
    elif refuse and rejected_from is not None:
        answers, gen = generate_rejected(
            [p.prompt for p in refuse], rejected_from, spec.max_new_tokens, store, cache_dir
        )
        filled, dropped = fill_rejected(refuse, answers, rejected_from)
        notes_out.append(
            f"should-refuse: rejected side generated by {spec.rejected_from} (greedy, max_new_tokens="
            f"{spec.max_new_tokens}, fingerprint {gen['fingerprint'][:19]}); {dropped} of {len(refuse)} pairs dropped "
            "because the generated answer was empty or itself a refusal (keyword judge)"
        )
        if dropped:
            console.print(
                f"[yellow]{TEAM_SET}: dropped {dropped} of {len(refuse)} should-refuse pairs whose generated "
                "answer is empty or refuses[/yellow]"
            )
    order = {p.id: i for i, p in enumerate(pairs)}
    records = sorted(respond + filled, key=lambda p: order[p.id])
    if not records:
        raise AlignscopeError(f"{TEAM_SET}: no pairs left after selection")
    return registry.LoadedSet(
        TEAM_SET, "preference", records, source, None, registry.records_sha256(records), tuple(notes_out)
    )
