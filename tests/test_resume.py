"""Kill -9 in the middle of generation, run again: nothing lost, nothing duplicated, nothing redone."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

STUDY = """
name: killme
base_model: {model}
workspace: {ws}
output_dir: {out}
evaluation:
  benchmarks:
    - {{name: probe, limit: 40}}
    - {{name: overrefusal, limit: 20}}
  sampling: {{max_new_tokens: 8}}
  batch_size: 2
"""


def count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


def start(study: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "alignscope", "run", str(study)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_generation_then_rerun(smol, tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text(STUDY.format(model=smol.path, ws=tmp_path / "ws", out=tmp_path / "out"))
    db = tmp_path / "ws" / "alignscope.sqlite"
    proc = start(study)
    deadline = time.time() + 240
    while count(db) < 6 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = count(db)
    assert 0 < before < 60, f"kill landed outside generation ({before} rows)"
    with sqlite3.connect(db) as c:
        early = dict(c.execute("SELECT key, created FROM generations").fetchall())

    done = subprocess.run([sys.executable, "-m", "alignscope", "run", str(study)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT key, prompt_id, created FROM generations").fetchall()
        verdicts = c.execute("SELECT COUNT(*), COUNT(DISTINCT generation_key) FROM verdicts").fetchone()
    assert len(rows) == 60 and len({r[1] for r in rows}) == 60  # every prompt once
    assert all(early[k] == created for k, _, created in rows if k in early)  # nothing regenerated
    assert verdicts == (60, 60)
    assert (tmp_path / "out" / "report.html").is_file()
