"""Multi-process fine-tuning through ``accelerate launch``: the parent writes a job, every rank runs it.

``finetune(..., launch=LaunchConfig(num_processes=2))`` writes a job directory (the data, the
TrainConfig, the parent model, where to save) and runs::

    python -m accelerate.commands.launch --config_file ddp.yaml --num_processes 2 \\
        -m alignscope.train._launch JOB_DIR

Each rank trains on its share of every batch (``_sft.train_and_save``); rank 0 saves into the
output's temporary directory and the parent renames it, exactly as after a 1-process run.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from alignscope.data import Conversation, Message
from alignscope.errors import AlignscopeError
from alignscope.http import ApiEndpoint
from alignscope.models import ResolvedModel
from alignscope.provenance import write_json_atomic
from alignscope.train._sft import TrainConfig, process_state, train_and_save

CONFIG_DIR = Path(__file__).parent / "accelerate"
SHIPPED = ("ddp", "fsdp2", "zero3")
TAIL_LINES = 25  # of the children's output, in the error when they fail


class LaunchConfig(BaseModel):
    """How fine-tunes are launched (a study's ``launch:``); not part of a trained model's cache key.

    The same data and ``TrainConfig`` give the same model under any launch (up to float
    summation order), so a study switches between 1 and N processes and reuses its models.
    """

    model_config = ConfigDict(extra="forbid")

    num_processes: int = Field(
        1, ge=1, description="training processes (GPUs, or CPU processes over gloo) through Accelerate"
    )
    accelerate_config: str = Field(
        "ddp", description="ddp | fsdp2 | zero3 (shipped Accelerate configs) or a path to your own"
    )
    remote: ApiEndpoint = Field(
        default_factory=ApiEndpoint, description="the fine-tuning API for parents that are api:<name> models"
    )
    poll_interval: float = Field(
        10.0, gt=0, description="remote: first wait between job status checks (seconds; backs off x1.5 to poll_max)"
    )
    poll_max: float = Field(120.0, gt=0, description="remote: longest wait between status checks")
    timeout_hours: float = Field(
        24.0, gt=0, description="remote: give up waiting (the job keeps running; a re-run resumes it)"
    )


def config_path(name: str) -> Path:
    """A shipped config (ddp, fsdp2, zero3) or the user's own Accelerate YAML file."""
    if name in SHIPPED:
        return CONFIG_DIR / f"{name}.yaml"
    path = Path(name).expanduser()
    if not path.is_file():
        raise AlignscopeError(f"accelerate config {name!r}: expected {', '.join(SHIPPED)} or an Accelerate config file")
    return path


def inside_launch() -> bool:
    """True in a process started by ``accelerate launch`` / torchrun (which must not launch again)."""
    return "LOCAL_RANK" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def check_runnable(config: Path) -> None:
    """Fail before launching on what the children would only hit after loading the model."""
    import torch

    kind = (yaml.safe_load(config.read_text()) or {}).get("distributed_type")
    if kind == "DEEPSPEED" and importlib.util.find_spec("deepspeed") is None:
        raise AlignscopeError(f"accelerate config {config.name}: DeepSpeed ZeRO needs DeepSpeed: pip install deepspeed")
    if kind in ("FSDP", "DEEPSPEED") and not torch.cuda.is_available():
        # on CPU Accelerate silently runs plain data parallel instead: say so rather than pretend
        raise AlignscopeError(
            f"accelerate config {config.name}: {kind} needs CUDA GPUs (Accelerate shards only on "
            "accelerators); on CPU use accelerate_config: ddp"
        )


def run_launch(
    launch: LaunchConfig,
    parent: ResolvedModel,
    conversations: list[Conversation],
    cfg: TrainConfig,
    out: Path,
    extra_provenance: dict | None,
) -> None:
    """Train with ``launch.num_processes`` processes; rank 0 writes ``out``.

    Raises:
        AlignscopeError: when the config cannot run here, or a child fails (with its last output lines).
    """
    config = config_path(launch.accelerate_config)
    check_runnable(config)
    with tempfile.TemporaryDirectory(prefix="alignscope-job-") as tmp:
        job = Path(tmp)
        write_job(job, parent, conversations, cfg, out, extra_provenance, launch)
        cmd = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            str(config),
            "--num_processes",
            str(launch.num_processes),
            "-m",
            "alignscope.train._launch",
            str(job),
        ]
        code, tail = _stream(cmd)
        if code != 0:
            shutil.rmtree(out, ignore_errors=True)
            raise AlignscopeError(_failure(job, code, tail, launch))
    if not (out / "provenance.json").is_file():
        raise AlignscopeError(f"accelerate launch exited 0 but rank 0 wrote no model to {out}")


def write_job(
    job: Path,
    parent: ResolvedModel,
    conversations: list[Conversation],
    cfg: TrainConfig,
    out: Path,
    extra_provenance: dict | None,
    launch: LaunchConfig,
) -> None:
    """What every rank needs: the data, the hyper-parameters, the parent model and where rank 0 saves."""
    (job / "conversations.jsonl").write_text("".join(json.dumps(c.as_dicts()) + "\n" for c in conversations))
    write_json_atomic(
        job / "job.json",
        {  # default=str, as provenance.json writes extra_provenance
            "parent": {"ref": parent.ref, "path": parent.path, "kind": parent.kind},
            "train": cfg.model_dump(mode="json"),
            "out": str(out),
            "extra_provenance": extra_provenance,
            "num_processes": launch.num_processes,
            "accelerate_config": launch.accelerate_config,
        },
    )


def _stream(cmd: list[str]) -> tuple[int, list[str]]:
    """Run ``cmd``, echoing its output to stderr as it comes; return the exit code and its last lines."""
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stderr.write(line)
            tail.append(line.rstrip())
    return proc.returncode, list(tail)


def _failure(job: Path, code: int, tail: list[str], launch: LaunchConfig) -> str:
    """The error: each failed rank's own one-line reason if it left one, then the output's tail."""
    reasons = sorted({p.read_text().strip() for p in job.glob("error.rank*")})
    head = f"fine-tuning with {launch.num_processes} processes ({launch.accelerate_config}) failed (exit {code})"
    if reasons:
        head += ": " + "; ".join(reasons)
    return head + "\nlast lines of its output:\n" + "\n".join(tail)


def main(job_dir: str) -> None:
    """One rank's work: read the job, train, let rank 0 save. Leaves its error's first line for the parent."""
    job = Path(job_dir)
    spec = json.loads((job / "job.json").read_text())
    try:
        procs = process_state().num_processes
        if procs != spec["num_processes"]:
            raise AlignscopeError(
                f"accelerate started {procs} processes, not {spec['num_processes']}: "
                f"does config {spec['accelerate_config']!r} launch several processes on this machine?"
            )
        conversations = [
            Conversation(tuple(Message(m["role"], m["content"]) for m in json.loads(line)))
            for line in (job / "conversations.jsonl").read_text().splitlines()
        ]
        train_and_save(
            ResolvedModel(**spec["parent"]),
            conversations,
            TrainConfig.model_validate(spec["train"]),
            Path(spec["out"]),
            spec["extra_provenance"],
            spec["accelerate_config"],
        )
    except Exception as e:
        reason = (str(e) if isinstance(e, AlignscopeError) else f"{type(e).__name__}: {e}").strip()
        (job / f"error.rank{os.environ.get('RANK', '0')}").write_text(
            reason.splitlines()[0] if reason else type(e).__name__
        )
        raise


if __name__ == "__main__":
    from alignscope._runtime import tune_allocator

    tune_allocator()  # a process entry point, like the CLI: same allocator settings as 1-process runs
    main(sys.argv[1])
