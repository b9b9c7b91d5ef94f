"""The one error type users see: a single line, exit code 2 from the CLI."""

from __future__ import annotations


class AlignscopeError(Exception):
    """A problem with the user's input (file, config, model reference).

    The message is meant to be printed as is, on one line, e.g.
    ``data.jsonl:7: messages[1].role: expected 'assistant', got 'bot'``.
    """


def located(path: object, line: int | None, field: str, problem: str) -> AlignscopeError:
    """Build an error that names the file, line and field, the format every reader uses."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    return AlignscopeError(f"{where}: {field}: {problem}")
