"""Render a study's results (``alignscope.results.StudyResults``; see ``SCHEMA.md``) as JSON,
Markdown and HTML reports."""

from __future__ import annotations

import pathlib
from typing import Any

from alignscope.provenance import write_text_atomic
from alignscope.results import StudyResults

from ._html import render_html
from ._markdown import render_markdown
from ._rm import write_rm_report
from ._view import cell

__all__ = ["cell", "render_html", "render_markdown", "write_report", "write_rm_report"]


def write_report(results: StudyResults | dict[str, Any], out_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``.

    Args:
        results: The study's results; a dict (as older callers pass) is validated first.
        out_dir: Directory to write into; created if missing.

    Returns:
        Paths of the written files under the keys ``"json"``, ``"md"`` and ``"html"``.
    """
    results = StudyResults.model_validate(results)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Render everything before writing anything: a rendering bug then leaves the
    # previous report intact instead of a mix of old and new files.
    texts = {
        "json": results.to_json(),
        "md": render_markdown(results),
        "html": render_html(results),
    }
    paths = {kind: out_dir / f"report.{kind}" for kind in texts}
    for kind, text in texts.items():
        write_text_atomic(paths[kind], text)
    return paths
