"""Surface-factor rewrites of preference pairs, for the sensitivity metrics (Li et al. 2025).

Each variant changes one factor of BOTH responses of a pair (or, for role-play, the prompt
both responses answer), with the same deterministic rewriting the Picky recipe uses, so the
content stays and only the factor moves:

- ``structure``: ``markdown`` (a heading plus one bullet per sentence) and ``itemized``
  (a numbered list), both from ``picky.sentences``;
- ``identity``: an "As an AI assistant, ..." self-identification before each response;
- ``roleplay``: a persona framing ("You are Dr. Lee, a chemist ...") before the prompt.

A reward model that tracks safety should barely move, and should almost never flip its
preference; a score change is measured per response, a flip per pair.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from alignscope.data import PreferencePair
from alignscope.recipes.picky import (
    PERSONAS,
    as_itemized,
    as_markdown,
    sentences,
    title_from,
    with_identity,
    with_persona,
)

FACTOR_VARIANTS: dict[str, tuple[str, ...]] = {
    "structure": ("markdown", "itemized"),
    "identity": ("identity",),
    "roleplay": ("roleplay",),
}


@dataclass(frozen=True)
class VariantSet:
    """Rewritten pairs of one set; ``index[i]`` is the position of ``pairs[i]``'s original."""

    factor: str
    variant: str
    index: list[int]
    pairs: list[PreferencePair]


def _restructure(pair: PreferencePair, variant: str) -> PreferencePair | None:
    units = sentences(pair.chosen), sentences(pair.rejected)
    if not all(units):  # nothing to lay out (e.g. an empty or punctuation-only response)
        return None
    if variant == "markdown":
        title = title_from(pair.prompt)
        return dataclasses.replace(pair, chosen=as_markdown(units[0], title), rejected=as_markdown(units[1], title))
    return dataclasses.replace(pair, chosen=as_itemized(units[0]), rejected=as_itemized(units[1]))


def rewrite(pair: PreferencePair, variant: str, index: int) -> PreferencePair | None:
    """``pair`` with one factor changed for both responses; None when it cannot be rewritten.

    ``index`` picks the identity phrasing and the persona, the same for both responses.
    Limit: the identity prefix goes before the first character, so a response that opens with
    a Markdown heading gets the prefix in its heading.
    """
    if variant == "roleplay":
        return dataclasses.replace(pair, prompt=with_persona(pair.prompt, PERSONAS[index % len(PERSONAS)]))
    if variant == "identity":
        return dataclasses.replace(
            pair, chosen=with_identity(pair.chosen, index), rejected=with_identity(pair.rejected, index)
        )
    if variant in FACTOR_VARIANTS["structure"]:
        return _restructure(pair, variant)
    raise ValueError(f"unknown variant {variant!r}")


def build_variants(pairs: list[PreferencePair], factors: list[str], limit: int | None = None) -> list[VariantSet]:
    """Every variant of the first ``limit`` pairs (all by default), for each factor asked for."""
    out = []
    for factor in factors:
        for variant in FACTOR_VARIANTS[factor]:
            rewritten = [(i, rewrite(p, variant, i)) for i, p in enumerate(pairs[:limit])]
            kept = [(i, p) for i, p in rewritten if p is not None]
            out.append(VariantSet(factor, variant, [i for i, _ in kept], [p for _, p in kept]))
    return out
