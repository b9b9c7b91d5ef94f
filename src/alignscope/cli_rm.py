"""``alignscope rm-eval CONFIG.yaml``: how reliable are reward models as safety judges?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def rm_eval(
    config: Annotated[Path, typer.Argument(help="an RM evaluation YAML (e.g. studies/rm-reliability.yaml)")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="dotted override KEY=VALUE (repeatable)")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="apply the config's named override set first, e.g. `ci`")] = None,
) -> None:
    """Score preference pairs with reward models (cached, resumable); writes rm_report.{html,md,json}."""
    from alignscope.progress import console
    from alignscope.rm import load_rm_config, run_rm_eval

    files = run_rm_eval(load_rm_config(config, set_, profile))
    console.print(f"[green]report:[/green] {files['html']}")
