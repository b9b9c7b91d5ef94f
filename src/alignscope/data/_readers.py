"""Readers for the file formats users already have.

Every reader validates the whole file before returning, so a malformed row is reported as
``file:line: field: problem`` and nothing downstream ever sees half a dataset.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from alignscope.data._schema import Conversation, EvalPrompt, Expected, Message
from alignscope.errors import AlignscopeError, located

T = TypeVar("T")
ROLES = ("system", "user", "assistant")
# Column names that, in the first row of a CSV, mean "this is a header, not a prompt".
PROMPT_COLUMNS = ("prompt", "goal", "behavior", "instruction", "text", "question", "forbidden_prompt")
CATEGORY_COLUMNS = ("category", "semanticcategory", "type")
ID_COLUMNS = ("id", "behaviorid", "prompt_id", "question_id")


def require_file(path: Path) -> None:
    if not path.is_file():
        raise AlignscopeError(f"{path}: file not found")


MAX_FILE_BYTES = 2 << 30  # 2 GiB: larger prompt or conversation files are a mistake, not data to hold in memory


def require_readable(path: Path) -> None:
    """One line saying why a data file cannot be read (missing, a directory, no read permission, too large)."""
    try:
        st = path.stat()
    except OSError as e:
        raise AlignscopeError(f"{path}: cannot read ({e.strerror or e})") from None
    if path.is_dir():
        raise AlignscopeError(f"{path}: a directory, not a file")
    if st.st_mode & 0o444 == 0:  # root may read it anyway: the user did not mean it to be read
        raise AlignscopeError(f"{path}: not readable (permissions {oct(st.st_mode & 0o777)})")
    if st.st_size > MAX_FILE_BYTES:
        raise AlignscopeError(f"{path}: {st.st_size} bytes, over the {MAX_FILE_BYTES} byte limit for a data file")


def read_bytes(path: Path) -> bytes:
    """A data file's bytes, or one line saying why not (see ``require_readable``)."""
    require_readable(path)
    try:
        return path.read_bytes()
    except OSError as e:
        raise AlignscopeError(f"{path}: cannot read ({e.strerror or e})") from None


def loads_json(path: Path, line: int | None, text: str) -> Any:
    """``json.loads`` with every failure as a located one-line error (nesting too deep included)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = line if line is not None else e.lineno
        raise located(path, where, "json", f"invalid JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise located(path, line, "json", "nested too deeply to read") from None


def read_text(path: Path) -> str:
    """The whole file as text: UTF-8, with or without a byte-order mark (Excel writes one).

    Raises:
        AlignscopeError: naming the file and the byte offset of the first byte that is not UTF-8; or
            a file that is missing, unreadable (permissions, even for root), or a directory.
    """
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise AlignscopeError(
            f"{path}: not UTF-8 text (byte {e.start}: {data[e.start : e.start + 1]!r}); save it as UTF-8"
        ) from None


Problems = list[str] | None  # where row errors are collected (``data validate``); None: raise at the first


def collect(problems: Problems, parse: Callable[..., T], *args: Any) -> T | None:
    """``parse(*args)``; a row error is raised, or (when collecting) recorded and None returned."""
    try:
        return parse(*args)
    except AlignscopeError as e:
        if problems is None:
            raise
        problems.append(str(e))
        return None


def jsonl_rows(path: Path, problems: Problems = None) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object) for each non-blank line of a JSONL file."""
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        before = len(problems or [])
        row = collect(problems, loads_json, path, lineno, line)
        if problems is None or len(problems) == before:
            yield lineno, row


def json_rows(path: Path) -> list[tuple[int | None, Any]]:
    """Parse a JSON file holding a list; rows get the line number where each item starts."""
    text = read_text(path)
    data = loads_json(path, None, text)
    if not isinstance(data, list):
        raise located(path, 1, "json", "expected a JSON list at the top level")
    return [(_item_line(text, i), item) for i, item in enumerate(data)]


def _item_line(text: str, index: int) -> int | None:
    """Best-effort line number of the index-th top-level item (for error messages only)."""
    depth, count = 0, -1
    line = 1
    in_str = esc = False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            esc, in_str = (False, in_str) if esc else (ch == "\\", ch != '"')
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth == 2:
                count += 1
                if count == index:
                    return line
        elif ch in "]}":
            depth -= 1
    return None


def file_rows(path: Path, problems: Problems = None) -> list[tuple[int | None, Any]]:
    require_file(path)
    if path.suffix == ".jsonl":
        return list(jsonl_rows(path, problems))
    if path.suffix == ".json":
        return json_rows(path)
    raise AlignscopeError(f"{path}: unsupported file type {path.suffix!r} (expected .jsonl or .json)")


# --------------------------------------------------------------------------- conversations


def _parse_messages(path: Path, line: int | None, raw: Any, where: str) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise located(path, line, where, "expected a non-empty list of messages")
    msgs = []
    for i, m in enumerate(raw):
        field = f"{where}[{i}]"
        if not isinstance(m, dict):
            raise located(path, line, field, "expected an object with 'role' and 'content'")
        role, content = m.get("role"), m.get("content")
        if role not in ROLES:
            raise located(path, line, f"{field}.role", f"expected one of {', '.join(ROLES)}; got {role!r}")
        if not isinstance(content, str):
            raise located(path, line, f"{field}.content", "missing or not a string")
        if role == "assistant" and not content.strip():
            raise located(path, line, f"{field}.content", "empty assistant turn (nothing to learn from)")
        msgs.append(Message(role, content, _weight(path, line, field, m)))
    _check_order(path, line, where, msgs)
    return tuple(msgs)


def _weight(path: Path, line: int | None, field: str, message: dict) -> Literal[0, 1]:
    """OpenAI's per-turn ``weight``: 0 (context only, not trained on) or 1, on assistant turns only."""
    if "weight" not in message:
        return 1
    weight = message["weight"]
    if message.get("role") != "assistant":
        raise located(path, line, f"{field}.weight", "only assistant turns take a weight")
    if weight not in (0, 1) or isinstance(weight, bool):
        raise located(path, line, f"{field}.weight", f"must be 0 (not trained on) or 1, got {weight!r}")
    return 0 if weight == 0 else 1


def _check_order(path: Path, line: int | None, where: str, msgs: list[Message]) -> None:
    """Chat templates assume: optional system first, then user/assistant alternating, ending on assistant."""
    body = msgs[1:] if msgs[0].role == "system" else msgs
    for i, m in enumerate(body):
        want = "user" if i % 2 == 0 else "assistant"
        if m.role != want:
            idx = i + (len(msgs) - len(body))
            raise located(
                path,
                line,
                f"{where}[{idx}].role",
                f"expected {want!r} here (turns must alternate user/assistant), got {m.role!r}",
            )
    if not body or body[-1].role != "assistant":
        raise located(path, line, where, "conversation must end with an assistant message")


def _alpaca_conversation(path: Path, line: int | None, row: dict) -> Conversation:
    for key in ("instruction", "output"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise located(path, line, key, "missing or empty")
    user = row["instruction"] if not row.get("input") else f"{row['instruction']}\n\n{row['input']}"
    return Conversation((Message("user", user), Message("assistant", row["output"])), {"format": "alpaca"})


def row_conversation(path: Path, line: int | None, row: Any) -> Conversation:
    if isinstance(row, list):  # JSON list of message lists (Qi et al.'s llama2 AOA file)
        return Conversation(_parse_messages(path, line, row, "messages"))
    if isinstance(row, dict) and "messages" in row:  # OpenAI fine-tuning format
        meta = {k: v for k, v in row.items() if k != "messages"}
        return Conversation(_parse_messages(path, line, row["messages"], "messages"), meta)
    if isinstance(row, dict) and "instruction" in row:  # Alpaca
        return _alpaca_conversation(path, line, row)
    raise located(
        path, line, "row", "expected {'messages': [...]}, a list of messages, or Alpaca instruction/input/output"
    )


def read_conversations(path: str | Path, problems: Problems = None) -> list[Conversation]:
    """Read fine-tuning conversations from JSONL/JSON in OpenAI, message-list or Alpaca format.

    Args:
        problems: A list to collect every malformed row's error in (the good rows are returned);
            by default the first one is raised.

    Raises:
        AlignscopeError: naming file, line and field of the first malformed row.
    """
    path = Path(path)
    parsed = [collect(problems, row_conversation, path, line, row) for line, row in file_rows(path, problems)]
    convs = [c for c in parsed if c is not None]
    if not convs and not problems:
        raise AlignscopeError(f"{path}: no conversations found")
    return convs


# --------------------------------------------------------------------------- prompt lists


def _find(columns: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [c.strip().lower() for c in columns]
    return next((lowered.index(n) for n in names if n in lowered), None)


def csv_records(path: Path, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """(first line of the record, cells) for each non-blank CSV record; quoted newlines allowed."""
    out, start = [], 1
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    try:
        for rec in reader:
            if any(c.strip() for c in rec):
                out.append((start, rec))
            start = reader.line_num + 1
    except csv.Error as e:  # e.g. a field over the csv module's size limit
        raise located(path, reader.line_num, "csv", str(e)) from None
    return out


def _txt_prompts(path: Path, source: str, expected: Expected) -> list[EvalPrompt]:
    """One prompt per non-blank line, exactly as written (commas, quotes and all). A first line
    that is only a column name (``prompt``, ``goal``, ...) is a header and is skipped."""
    lines = [(n, line.strip()) for n, line in enumerate(read_text(path).splitlines(), 1) if line.strip()]
    if lines and lines[0][1].lower() in PROMPT_COLUMNS:
        lines = lines[1:]
    return [
        EvalPrompt(f"{path.stem}-{i:04d}", text, source=source, expected=expected)
        for i, (_, text) in enumerate(lines, 1)
    ]


def _csv_prompts(path: Path, source: str, expected: Expected, problems: Problems = None) -> list[EvalPrompt]:
    rows = csv_records(path)
    if not rows:
        raise AlignscopeError(f"{path}: no prompts found")
    header = rows[0][1]
    text_col = _find(header, PROMPT_COLUMNS)
    if text_col is None:  # headerless: one prompt per line (the AdvBench copy Qi et al. used)
        if len(header) > 1 and all(len(r) == len(header) for _, r in rows[:5]):
            raise located(path, 1, "header", f"no prompt column; expected one of {', '.join(PROMPT_COLUMNS)}")
        # a line split at unquoted commas is one prompt: join its cells back as written
        return [
            EvalPrompt(f"{path.stem}-{n:04d}", ",".join(r).strip(), source=source, expected=expected)
            for n, (_, r) in enumerate(rows, 1)
        ]
    cols = _Columns(
        header, text_col, _find(header, CATEGORY_COLUMNS), _find(header, ID_COLUMNS), _find(header, ("expected",))
    )
    parsed = [
        collect(problems, _csv_prompt, path, line, n, r, cols, source, expected)
        for n, (line, r) in enumerate(rows[1:], 1)
    ]
    return [p for p in parsed if p is not None]


@dataclass(frozen=True)
class _Columns:
    header: list[str]
    text: int
    category: int | None
    id: int | None
    expected: int | None

    def cell(self, row: list[str], col: int | None) -> str:
        return row[col].strip() if col is not None and col < len(row) else ""


def _csv_prompt(
    path: Path, line: int, n: int, r: list[str], cols: _Columns, source: str, expected: Expected
) -> EvalPrompt:
    text = cols.cell(r, cols.text)
    if not text:
        raise located(path, line, cols.header[cols.text].strip(), "missing or empty")
    exp = cols.cell(r, cols.expected) or expected
    if exp not in ("refuse", "comply"):
        raise located(path, line, "expected", f"must be 'refuse' or 'comply', got {exp!r}")
    pid = cols.cell(r, cols.id) if cols.id is not None and cols.id < len(r) else f"{path.stem}-{n:04d}"
    return EvalPrompt(pid, text, cols.cell(r, cols.category) or "uncategorized", source, exp)  # type: ignore[arg-type]


def _json_prompts(path: Path, source: str, expected: Expected, problems: Problems = None) -> list[EvalPrompt]:
    parsed = [
        collect(problems, _json_prompt, path, line, n, row, source, expected)
        for n, (line, row) in enumerate(file_rows(path, problems), 1)
    ]
    return [p for p in parsed if p is not None]


def _json_prompt(path: Path, line: int | None, n: int, row: Any, source: str, expected: Expected) -> EvalPrompt:
    if isinstance(row, str):
        row = {"text": row}
    if not isinstance(row, dict):
        raise located(path, line, "row", "expected an object or a string")
    key = next((k for k in ("text", *PROMPT_COLUMNS) if k in row), None)
    if key is None or not isinstance(row[key], str) or not row[key].strip():
        raise located(path, line, "text", f"missing or empty (looked for {', '.join(('text', *PROMPT_COLUMNS))})")
    exp = row.get("expected", expected)
    if exp not in ("refuse", "comply"):
        raise located(path, line, "expected", f"must be 'refuse' or 'comply', got {exp!r}")
    pid = str(row.get("id", f"{path.stem}-{n:04d}"))
    return EvalPrompt(pid, row[key].strip(), str(row.get("category", "uncategorized")), source, exp)


def read_prompts(
    path: str | Path, expected: Expected = "refuse", source: str | None = None, problems: Problems = None
) -> list[EvalPrompt]:
    """Read evaluation prompts from TXT, CSV (header optional) or JSONL/JSON; the one prompt
    reader every command uses. UTF-8 with or without a byte-order mark.

    A ``.txt`` file (or one without a suffix) holds one prompt per line, exactly as written:
    commas are part of the prompt. A headerless CSV is one prompt per line too (cells split at
    unquoted commas are joined back). With a header, the prompt column is the first of
    ``prompt, goal, behavior, instruction, text, question``; ``category``, ``id`` and
    ``expected`` columns are kept when present, as the same JSONL fields are.

    ``problems``: a list to collect every malformed row's error in (the good rows are returned);
    by default the first one is raised.
    """
    path = Path(path)
    require_file(path)
    source = source or str(path)
    if path.suffix in (".jsonl", ".json"):
        prompts = _json_prompts(path, source, expected, problems)
    elif path.suffix in (".txt", ""):
        prompts = _txt_prompts(path, source, expected)
    elif path.suffix == ".csv":
        prompts = _csv_prompts(path, source, expected, problems)
    else:
        raise AlignscopeError(f"{path}: unsupported prompt file type {path.suffix!r}")
    if problems:
        return prompts
    if not prompts:
        raise AlignscopeError(f"{path}: no prompts found")
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise AlignscopeError(f"{path}: id: duplicate id {dup!r}")
    return prompts
