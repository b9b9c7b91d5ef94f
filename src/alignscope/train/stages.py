"""The align and fine-tune stages: build a recipe's data, then train, cached in the workspace.

A trained model lives under a hash of (parent weights, training data, hyper-parameters), so an
identical request is answered from the workspace. Self-distilled data is generated (and cached)
by the study's generation backend, whose engine is stopped before training starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape

from alignscope.errors import AlignscopeError
from alignscope.generate import Backend
from alignscope.locks import building
from alignscope.models import ResolvedModel, fingerprint, resolve_model
from alignscope.progress import console
from alignscope.provenance import stable_hash
from alignscope.recipes import RecipeContext, RecipeOutput, align_mix, build_recipe, with_safety_mix
from alignscope.train._remote import remote_finetune, remote_key, remote_provenance
from alignscope.train._sft import TrainConfig, finetune
from alignscope.workspace import ModelEntry, Workspace

if TYPE_CHECKING:  # config imports train: type names only
    from alignscope.config import AlignConfig, FinetuneSpec, GenerateConfig
    from alignscope.train._launch import LaunchConfig


def train_cached(
    name: str,
    parent: ModelEntry,
    data: RecipeOutput,
    cfg: TrainConfig,
    ws: Workspace,
    launch: LaunchConfig,
    extra: dict[str, Any],
) -> ResolvedModel:
    """Fine-tune unless an identical run (same parent weights, data, hyper-parameters) is cached.

    The launch (processes, Accelerate config) is not in the key: 1 or N processes train the same
    model, so either reuses the other's; provenance.json records it.
    """
    key = stable_hash(
        {
            "parent": fingerprint(parent.resolved),
            "data": [c.as_dicts() for c in data.conversations],
            "train": cfg.model_dump(),
        }
    )
    out = ws.artifact(name, key)
    if (out / "provenance.json").is_file():
        console.print(f"[dim]{escape(name)}: cached at {out}[/dim]")
        return resolve_model(str(out), ws.root)
    with building(out, name):  # another run on this workspace may be training the same model
        if (out / "provenance.json").is_file():
            console.print(f"[dim]{escape(name)}: trained by the other run; reusing {out}[/dim]")
            return resolve_model(str(out), ws.root)
        console.print(
            f"[bold]{escape(name)}[/bold]: fine-tuning {escape(parent.key)} on {len(data.conversations)} examples "
            f"({cfg.method})"
        )
        return finetune(
            parent.resolved,
            data.conversations,
            cfg,
            out,
            launch=launch,
            extra_provenance={"stage": name, "recipe_info": data.info, **extra},
        )


def recipe_data(
    recipe: str,
    args: dict[str, Any],
    parent: ModelEntry,
    ws: Workspace,
    generate: GenerateConfig,
    seed: int,
    safety_mix: int = 0,
) -> RecipeOutput:
    """A recipe's data (plus any safety mix); self-distilled answers come from ``parent`` through the
    study's backend, whose engine is stopped before this returns (training needs the memory)."""
    with Backend(generate, ws.store) as backend:
        ctx = RecipeContext(seed, backend.distiller(parent, 96, seed), ws.root)
        return with_safety_mix(build_recipe(recipe, args, ctx), safety_mix, seed)


def align_stage(
    base: ModelEntry, cfg: AlignConfig, ws: Workspace, generate: GenerateConfig, launch: LaunchConfig, seed: int
) -> ModelEntry:
    """Give ``base`` refusal behaviour: the team's refusals mixed with its own answers to benign requests."""
    if base.resolved.kind == "api":
        raise AlignscopeError(
            f"align: {base.resolved.ref} lives behind an API and cannot be aligned locally; "
            "remove `align:` (its fine-tunes run remotely)"
        )
    with Backend(generate, ws.store) as backend:
        ctx = RecipeContext(seed, backend.distiller(base, cfg.distill_max_new_tokens, seed), ws.root)
        data = align_mix(cfg.n_refusals, cfg.n_benign, cfg.benign_repeats, ctx)
    train = cfg.train if cfg.train.save == "merged" else cfg.train.model_copy(update={"save": "merged"})
    resolved = train_cached("aligned", base, data, train, ws, launch, {"align": cfg.model_dump(mode="json")})
    return ModelEntry("aligned", "aligned", resolved, parent=base.key, recipe="refusal-align", info=data.info)


def finetune_stage(
    spec: FinetuneSpec, parent: ModelEntry, ws: Workspace, generate: GenerateConfig, launch: LaunchConfig, seed: int
) -> ModelEntry:
    """Build the recipe's data (plus any safety mix) and fine-tune ``parent`` on it, cached.

    A spec's own ``seed`` (a grid's seed axis) seeds both the data sampling and training. An
    ``api:`` parent is fine-tuned by its provider, through the fine-tuning API.
    """
    train = spec.train
    if spec.seed is not None:
        seed, train = spec.seed, spec.train.model_copy(update={"seed": spec.seed})
    data = recipe_data(spec.recipe, spec.args, parent, ws, generate, seed, spec.safety_mix)
    info = data.info
    if parent.resolved.kind == "api":  # a hosted model (Qi et al.'s GPT-3.5 tier): resumable remote job
        out = ws.artifact(spec.name, remote_key(parent.resolved.path, data.conversations, train, spec.remote, launch))
        resolved = remote_finetune(
            parent.resolved.path, data.conversations, train, spec.remote, launch, out, label=spec.name
        )
        info = {**data.info, "remote": remote_provenance(out)}
    else:
        resolved = train_cached(
            spec.name,
            parent,
            data,
            train,
            ws,
            launch,
            {"recipe": spec.recipe, "args": spec.args, "safety_mix": spec.safety_mix},
        )
    return ModelEntry(
        spec.name,
        spec.name,
        resolved,
        parent=parent.key,
        recipe=spec.recipe,
        eval_system_prompt=data.eval_system_prompt,
        info=info,
    )
