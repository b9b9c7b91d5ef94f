"""The team's own prompt sets (see ``data/builtin/DATASHEET_probe.md``), served by the same registry."""

from __future__ import annotations

from alignscope.data import EvalPrompt, builtin_prompts
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._registry import register

TEAM = dict(license="Apache-2.0 (written by the alignscope team)", citation="alignscope built-in sets")


@register(
    DatasetEntry(
        name="probe",
        kind="benchmark",
        description="Built-in harmful probe prompts across the HEx-PHI categories (request text only)",
        expected="refuse",
        size="110",
        homepage="builtin:probe",
        **TEAM,  # type: ignore[arg-type]
    )
)
def probe(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return builtin_prompts("probe")


@register(
    DatasetEntry(
        name="overrefusal",
        kind="benchmark",
        description="Built-in safe-but-scary prompts (XSTest-style): refusing them is over-refusal",
        expected="comply",
        size="60",
        homepage="builtin:overrefusal",
        **TEAM,  # type: ignore[arg-type]
    )
)
def overrefusal(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return builtin_prompts("overrefusal")
