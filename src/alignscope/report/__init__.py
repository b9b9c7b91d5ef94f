"""Render a study's results (see ``SCHEMA.md``) as JSON, Markdown and HTML reports."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
from typing import Any

from ._html import render_html
from ._markdown import render_markdown

__all__ = ["render_html", "render_markdown", "write_report"]


def _atomic_write(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half.

    The temporary file sits in the same directory so that ``os.replace`` is a rename
    within one file system, which is atomic.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_report(results: dict[str, Any], out_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``.

    Args:
        results: The results dict described in ``report/SCHEMA.md``.
        out_dir: Directory to write into; created if missing.

    Returns:
        Paths of the written files under the keys ``"json"``, ``"md"`` and ``"html"``.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Render everything before writing anything: a rendering bug then leaves the
    # previous report intact instead of a mix of old and new files.
    texts = {
        "json": json.dumps(results, indent=2, sort_keys=False) + "\n",
        "md": render_markdown(results),
        "html": render_html(results),
    }
    paths = {kind: out_dir / f"report.{kind}" for kind in texts}
    for kind, text in texts.items():
        _atomic_write(paths[kind], text)
    return paths
