"""Where a set's raw rows come from: a local upstream file, a local directory laid out as on
the Hub, the workspace fetch cache, or the Hub itself.

Resolution order for ``entry.load(source, workspace=...)``:

1. ``source`` given: a file is read with our own readers (CSV with or without header, JSON,
   JSONL, gzipped JSONL, Parquet), so every problem is reported as ``file:line: field``;
   a directory is read with ``datasets.load_dataset(<dir>, data_files=entry.files)``, the
   same call that reads the Hub repo.
2. ``<workspace>/datasets/<name>/<revision>/`` exists (``alignscope data fetch``): read like 1.
3. ``datasets.load_dataset(hub_id, revision=...)``. Any failure (offline, gated, missing)
   becomes one line saying how to get access and how to point at a local copy.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import os
import shutil
import socket
import urllib.parse
import zlib
from pathlib import Path
from typing import Any

from alignscope.data import csv_records, json_rows, jsonl_rows, loads_json, read_bytes, require_readable
from alignscope.errors import AlignscopeError
from alignscope.provenance import now_iso, write_json_atomic
from alignscope.registry._entry import DatasetEntry, LoadedSet, Row

CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def cache_dir(workspace: str | Path, entry: DatasetEntry) -> Path:
    return Path(workspace) / "datasets" / entry.name / entry.revision


def read_rows(
    entry: DatasetEntry, source: str | Path | None, workspace: str | Path | None
) -> tuple[list[Row], str, str | None]:
    """Raw rows, a one-string description of where they came from, and the Hub revision (if any)."""
    if entry.builtin:
        if source is not None:
            raise AlignscopeError(f"{entry.name}: a built-in set takes no path")
        return [], entry.homepage, None
    if source is not None:
        path = Path(source).expanduser()
        if not path.exists():
            raise AlignscopeError(f"{path}: file not found")
        rows = read_local_dir(entry, path) if path.is_dir() else read_local_file(entry, path)
        return rows, str(path.resolve()), None
    if workspace is not None and (cached := cache_dir(workspace, entry)).is_dir():
        return read_local_dir(entry, cached), f"{entry.source} (workspace cache {cached.resolve()})", entry.revision
    if entry.hub_id is None:
        raise AlignscopeError(
            f"{entry.name}: there is no Hub copy; download it from {entry.homepage} and point at it "
            "with `path:` in the study or `--path` on the command line"
        )
    return read_hub(entry), entry.source, entry.revision


# --------------------------------------------------------------------------- local files


def part_of(entry: DatasetEntry, path: Path) -> str:
    """Which upstream part a single file is, by its name (``benign-behaviors.csv`` -> ``benign``)."""
    for part, pattern in entry.files.items():
        if fnmatch.fnmatch(path.name, Path(pattern).name):
            return part
    stem = path.name.lower()
    named = [part for part in entry.files if part.lower() in stem]  # e.g. a renamed copy "benign.csv"
    return named[0] if len(named) == 1 else next(iter(entry.files), entry.split)


def read_local_file(entry: DatasetEntry, path: Path) -> list[Row]:
    part = part_of(entry, path)
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES) or "." not in name:
        return _csv_rows(entry, path, part)
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
        return [Row(d, str(path), line, part) for line, d in _jsonl_lines(path)]
    if name.endswith(".json"):
        return [Row(d, str(path), line, part) for line, d in json_rows(path)]
    if name.endswith(".parquet"):
        return [Row(d, str(path), i, part) for i, d in enumerate(_parquet_rows(path), 1)]
    raise AlignscopeError(f"{path}: unsupported file type (expected .csv, .json, .jsonl, .jsonl.gz or .parquet)")


def _parquet_rows(path: Path) -> list[dict]:
    """A Parquet file's rows; a file that is not Parquet (or is cut short) is one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    require_readable(path)  # missing, unreadable, too large: the same messages as every other file
    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise AlignscopeError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0][:160]})") from None


def _jsonl_lines(path: Path) -> list[tuple[int, Any]]:
    if not path.name.endswith(".gz"):
        return list(jsonl_rows(path))
    try:
        text = gzip.decompress(read_bytes(path))
    except (OSError, EOFError, zlib.error) as e:
        raise AlignscopeError(f"{path}: not a complete gzip file ({e})") from None
    try:
        lines = text.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise AlignscopeError(f"{path}: not UTF-8 text once decompressed (byte {e.start})") from None
    return [(n, loads_json(path, n, line)) for n, line in enumerate(lines, 1) if line.strip()]


def _csv_rows(entry: DatasetEntry, path: Path, part: str) -> list[Row]:
    """CSV rows as dicts. A file whose first row names none of the entry's columns is read as
    headerless with ``entry.headerless`` names (AdvBench's one-column copy, HEx-PHI's files)."""
    records = csv_records(path, "\t" if path.suffix == ".tsv" else ",")
    if not records:
        return []
    known = {c.lower() for cols in entry.columns.values() for c in cols}
    header = [c.strip() for c in records[0][1]]
    if entry.headerless and not any(h.lower() in known for h in header):
        names, body = list(entry.headerless), records
    else:
        names, body = header, records[1:]
    rows = []
    for line, cells in body:
        if len(names) == 1 and len(cells) > 1:  # an unquoted comma inside a one-column prompt file
            cells = [",".join(cells)]
        rows.append(Row(dict(zip(names, cells)), str(path), line, part))
    return rows


# --------------------------------------------------------------------------- datasets: local dir and Hub


def _load_dataset(entry: DatasetEntry, where: str, part: str, pattern: str | None, revision: str | None) -> list[dict]:
    """One part through ``datasets.load_dataset``: the same call for a local directory and a Hub repo."""
    import datasets

    datasets.disable_progress_bars()
    if pattern is None:
        ds = datasets.load_dataset(where, name=entry.config, split=entry.split, revision=revision)
    else:
        # headerless upstream CSVs: ``names`` (not ``column_names``) also reaches pandas when loading a directory
        extra = {"names": list(entry.headerless)} if entry.headerless and pattern.endswith(".csv") else {}
        ds = datasets.load_dataset(where, data_files={part: pattern}, split=part, revision=revision, **extra)
    return ds.to_list()


def read_local_dir(entry: DatasetEntry, root: Path) -> list[Row]:
    """Rows of a directory laid out as the upstream repo (a clone, a download, or the fetch cache)."""
    if not entry.files:
        return [
            Row(d, str(root), i, entry.split)
            for i, d in enumerate(_load_dataset(entry, str(root), entry.split, None, None), 1)
        ]
    rows: list[Row] = []
    for part, pattern in entry.files.items():
        matches = sorted(root.glob(pattern))
        if not matches:
            if entry.optional_parts:
                continue
            raise AlignscopeError(
                f"{root}: {pattern}: not found (expected the upstream layout: {', '.join(entry.files.values())})"
            )
        file = str(matches[0]) if len(matches) == 1 else str(root / pattern)
        rows += [Row(d, file, i, part) for i, d in enumerate(_load_dataset(entry, str(root), part, pattern, None), 1)]
    if not rows and entry.optional_parts:
        raise AlignscopeError(f"{root}: none of the upstream files found ({', '.join(entry.files.values())})")
    return rows


def hub_error(entry: DatasetEntry, exc: BaseException, fetching: bool = False) -> AlignscopeError:
    """One line: what failed, how to get access, how to use a local copy instead."""
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    local = (
        "or copy a local clone of the repository with `--from DIR`"
        if fetching
        else "or point at a local copy: `path:` in the study, `--path` on the command line"
    )
    if entry.gated:
        how = (
            f"{entry.hub_id} is gated: request access at https://huggingface.co/datasets/{entry.hub_id} "
            f"and log in (`hf auth login` or HF_TOKEN), {local}"
        )
    elif fetching:
        how = f"check the network (and HF_HUB_OFFLINE), {local}"
    else:
        how = f"run `alignscope data fetch {entry.name}` once while online to cache it in the workspace, {local}"
    return AlignscopeError(f"{entry.name}: could not load {entry.source} from the Hugging Face Hub ({reason}); {how}")


PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")


@functools.cache
def hub_unreachable() -> str | None:
    """Why the Hugging Face Hub cannot be reached (one TCP connection, 3 s at most), or None.

    Checked once per process before the first Hub request, so an offline machine gets its answer at
    once instead of after the client libraries' retries. Skipped in offline mode (the libraries then
    fail at once themselves) and behind a proxy (a direct connection says nothing there).
    """
    import huggingface_hub.constants as hub

    if hub.HF_HUB_OFFLINE or any(os.environ.get(v) for v in PROXY_VARS):
        return None
    url = urllib.parse.urlparse(hub.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as e:
        return f"{host}:{port} is not reachable ({e.strerror or e}); offline?"
    return None


def read_hub(entry: DatasetEntry) -> list[Row]:
    from datasets.exceptions import DatasetNotFoundError

    assert entry.hub_id is not None
    if why := hub_unreachable():
        raise hub_error(entry, ConnectionError(why))
    parts: list[tuple[str, str | None]] = list(entry.files.items()) or [(entry.split, None)]
    rows: list[Row] = []
    for part, pattern in parts:
        try:
            data = _load_dataset(entry, entry.hub_id, part, pattern, entry.revision)
        except DatasetNotFoundError as e:  # gated or missing repo: a FileNotFoundError too, so test it first
            raise hub_error(entry, e) from None
        except FileNotFoundError as e:
            if entry.optional_parts:
                continue
            raise hub_error(entry, e) from None
        except Exception as e:  # offline, HTTP errors, auth: all become the same one-line advice
            raise hub_error(entry, e) from None
        file = f"{entry.source}:{pattern or part}"
        rows += [Row(d, file, i, part) for i, d in enumerate(data, 1)]
    return rows


# --------------------------------------------------------------------------- fetch


def _copy_layout(entry: DatasetEntry, src: Path, dest: Path) -> None:
    """Copy the upstream files of a local Hub-layout directory (e.g. a ``git clone``) into ``dest``."""
    if not src.is_dir():
        raise AlignscopeError(f"{src}: not a directory (expected the upstream repository layout)")
    if not entry.files:
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git", ".cache"))
        return
    for pattern in entry.files.values():
        for f in sorted(src.glob(pattern)):
            (dest / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest / f.relative_to(src))


def _download(entry: DatasetEntry, dest: Path) -> None:
    assert entry.hub_id is not None, entry.name  # only Hub sets are downloaded
    if why := hub_unreachable():
        raise hub_error(entry, ConnectionError(why), fetching=True)
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(
            repo_id=entry.hub_id,
            repo_type="dataset",
            revision=entry.revision,
            local_dir=dest,
            allow_patterns=list(entry.files.values()) or None,
        )
    except Exception as e:
        raise hub_error(entry, e, fetching=True) from None


def fetch(entry: DatasetEntry, workspace: str | Path, source: str | Path | None = None) -> LoadedSet:
    """Save the set's upstream files under ``<workspace>/datasets/<name>/<revision>/`` so later loads are offline.

    Args:
        entry: the registry entry.
        workspace: the workspace root (``.alignscope`` by default).
        source: a local directory in the Hub repo's layout to copy from instead of downloading.

    The copy is parsed in full before it replaces the cache, so a broken download is never cached.
    """
    if entry.hub_id is None:
        raise AlignscopeError(
            f"{entry.name}: there is no Hub copy to fetch; download it from {entry.homepage} "
            "and point at it with `path:` in the study or `--path` on the command line"
        )
    dest = cache_dir(workspace, entry)
    tmp = dest.parent / f".{dest.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        if source is not None:
            _copy_layout(entry, Path(source).expanduser(), tmp)
        else:
            _download(entry, tmp)
        entry.load(tmp)  # every row parses, or nothing is cached
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    loaded = entry.load(workspace=workspace)
    write_json_atomic(
        dest.parent / f"{dest.name}.json",
        {
            **loaded.provenance(),
            "fetched": now_iso(),
            "fetched_from": str(Path(source).resolve()) if source else entry.source,
        },
    )
    return loaded
