"""One builder per artifact: processes sharing a workspace serialise on a lock file per artifact.

Every artifact (a de-quantized model, a trained adapter) is built aside in ``<name>.tmp<pid>``
and renamed into place when complete. The lock makes that safe across processes: the second
run waits for the first, then finds the finished artifact and reuses it; and while a process
holds the lock, any ``.tmp`` folder of that artifact is left by a dead process and is removed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.markup import escape

from alignscope.errors import AlignscopeError
from alignscope.progress import console


def lock_path(artifact: Path) -> Path:
    """The lock file of ``artifact``: a hidden file beside it."""
    return artifact.with_name(f".{artifact.name}.lock")


@contextmanager
def building(artifact: Path, what: str) -> Iterator[None]:
    """Hold the exclusive right to build ``artifact``; wait (saying so) while another process has it.

    Inside the block no other process builds this artifact, and any ``<artifact>.tmp*`` left over
    is removed first: its builder is gone.

    Raises:
        AlignscopeError: when the lock file cannot be created (a read-only workspace), naming it.
    """
    path = lock_path(artifact)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as e:
        raise AlignscopeError(f"{path}: cannot create a lock file ({e.strerror or e})") from None
    with handle:
        _acquire(handle, path, what)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            remove_stale_tmp(artifact)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: TextIO, path: Path, what: str) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    holder = path.read_text().strip() or "another process"
    console.print(
        f"[yellow]{escape(what)}: another run (pid {escape(holder)}) is building it in this workspace; "
        "waiting for it, then reusing its result[/yellow]"
    )
    start = time.time()
    fcntl.flock(handle, fcntl.LOCK_EX)
    console.print(f"[dim]{escape(what)}: the other run finished after {time.time() - start:.0f} s[/dim]")


def remove_stale_tmp(artifact: Path) -> list[Path]:
    """Delete ``<artifact>.tmp*`` folders (call only while holding the artifact's lock); return them."""
    stale = sorted(artifact.parent.glob(f"{artifact.name}.tmp*")) if artifact.parent.is_dir() else []
    for tmp in stale:
        shutil.rmtree(tmp, ignore_errors=True)
    return stale
