"""Kill a study at random points (SIGKILL), run it again each time, and check that nothing was lost,
duplicated or left half-written: the final report equals an uninterrupted run's.

    .venv/bin/python bench/kill_resume.py --kills 20 --out /tmp/kill-resume

The study is small but has every stage that writes: de-quantizing the built-in model, self-distilled
data, a LoRA fine-tune, generation and judging into the store, and the report. Results go to
docs/PERF.md by hand (machine and command with them).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

ALIGNSCOPE = Path(sys.executable).parent / "alignscope"


def study_file(root: Path, name: str) -> Path:
    study = {
        "name": name, "base_model": "smollm2-135m-instruct", "workspace": str(root / f"ws-{name}"),
        "output_dir": str(root / f"out-{name}"),
        "finetunes": [{"name": "benign", "recipe": "benign", "args": {"n": 12},
                       "train": {"epochs": 1, "batch_size": 4, "max_length": 128}}],
        "evaluation": {"benchmarks": [{"name": "probe", "limit": 24}, {"name": "overrefusal", "limit": 12}],
                       "judges": ["keyword", "refusal-classifier"], "sampling": {"max_new_tokens": 24},
                       "batch_size": 8},
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def run(study: Path, kill_after: float | None) -> tuple[int, float]:
    """Run the study; SIGKILL it after ``kill_after`` seconds (None: let it finish). Return (code, seconds)."""
    start = time.time()
    proc = subprocess.Popen([str(ALIGNSCOPE), "run", str(study)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
    return code, time.time() - start


def store_counts(ws: Path) -> dict[str, int]:
    with sqlite3.connect(ws / "alignscope.sqlite") as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("generations", "verdicts")}


def leftovers(ws: Path) -> list[str]:
    """Half-built folders a killed run left that a finished run did not clean up."""
    return sorted(str(p.relative_to(ws)) for p in ws.rglob("*.tmp*"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("/tmp/kill-resume"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clean = study_file(args.out, "clean")
    code, full = run(clean, None)
    assert code == 0, "the uninterrupted run failed"
    rng, kills, phases = random.Random(args.seed), [], []
    while len(kills) < args.kills:  # each phase: a fresh workspace, killed at random points until a run finishes
        name = f"killed{len(phases) + 1}"
        study, phase = study_file(args.out, name), []
        while True:
            code, took = run(study, rng.uniform(1.0, full))
            if code == 0:
                break
            phase.append(round(took, 1))
        kills += phase
        phases.append(name)
    reports = {n: json.loads((args.out / f"out-{n}" / "report.json").read_text()) for n in ("clean", *phases)}
    same = all(r["metrics"] == reports["clean"]["metrics"] and r["comparisons"] == reports["clean"]["comparisons"]
               for r in reports.values())
    counts = {n: store_counts(args.out / f"ws-{n}") for n in ("clean", *phases)}
    left = [x for n in phases for x in leftovers(args.out / f"ws-{n}")]
    print(json.dumps({"uninterrupted_seconds": round(full, 1), "kills": len(kills), "killed_at_seconds": kills,
                      "phases": len(phases), "identical_metrics": same, "store_rows": counts, "leftover_tmp": left},
                     indent=2))
    assert same and all(c == counts["clean"] for c in counts.values()) and not left

if __name__ == "__main__":
    main()
