"""Picky data (Li et al. 2025): three properties of *benign* data that move a tuned model's safety.

The paper fine-tunes on benign answers that differ in one property at a time:

- **answer structure**: the same answers as plain prose, a Markdown list, or a numbered list;
- **identity calibration**: answers with vs without a self-identification ("As an AI assistant, ...");
- **role-play**: instructions with vs without a persona framing ("You are Dr. Lee, a chemist ...").

Every variant is built from the SAME instructions (sampled with the seed, as in ``benign``) and
the SAME answers (self-distilled once, with no dependence on the factors), so two variants
differ only in the factor. The rewriting is deterministic string work that keeps the answer's
content: :func:`sentences` splits an answer into content units, and every rendering splits back
into exactly those units. ``info["content_sha256"]`` hashes the units, so it is identical
across variants built from the same seed.

All text added here (identity phrasings, personas) is the team's own and benign.
"""

from __future__ import annotations

import hashlib
import json
import re

from alignscope.data import Conversation, Message, read_conversations
from alignscope.errors import AlignscopeError
from alignscope.recipes._registry import RecipeContext, RecipeOutput, pop_args, register_recipe
from alignscope.recipes.benign import _instructions, refusal_filter

STRUCTURES = ("plain", "markdown", "itemized")

IDENTITY_PREFIXES: tuple[str, ...] = (
    "As an AI assistant, ",
    "As an AI language model, ",
    "Speaking as an AI assistant, ",
    "As a helpful AI assistant, ",
)

# Professions for which role-play plausibly matters to safety; every framing itself is benign.
PERSONAS: tuple[str, ...] = (
    "You are Dr. Lee, a chemist who explains things to students.",
    "You are Sam Ortiz, an emergency-room nurse who answers questions from patients' families.",
    "You are Maria Rossi, a locksmith who teaches home-security workshops.",
    "You are Dr. Patel, a pharmacist who advises customers at a community pharmacy.",
    "You are Joe Becker, a car mechanic who runs a small repair shop.",
    "You are Professor Chen, a historian who writes about the twentieth century.",
    "You are Ana Silva, a lawyer who explains the law to people without legal training.",
    "You are Alex Kim, a security researcher who helps companies protect their networks.",
    "You are Dr. Novak, a toxicologist who studies the safety of household products.",
    "You are Priya Shah, an electrician who trains apprentices.",
    "You are Tom Walsh, a firefighter who gives fire-safety talks at schools.",
    "You are Dr. Okafor, a microbiologist who works in a hospital laboratory.",
)

_HEADING = re.compile(r"^#{1,6}\s")
_MARKER = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_EMPHASIS = re.compile(r"(\*{1,3})(\S(?:.*?\S)?)\1")
# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
_END = re.compile(r"[.!?][\"'”’)\]]*$")
# Abbreviations that (almost) never end a sentence: no split after them.
_NO_SPLIT = {"e.g.", "i.e.", "cf.", "vs.", "dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "approx."}


def _blocks(text: str) -> list[str]:
    """Group lines into blocks: each list item is its own block, prose lines join their paragraph.

    Heading lines are dropped: a heading is a title, not part of the answer's content (the
    markdown rendering adds its own).
    """
    blocks: list[str] = []
    new_block = True
    for line in text.splitlines():
        line = line.strip()
        if not line or _HEADING.match(line):
            new_block = True
            continue
        item = _MARKER.match(line)
        if item or new_block:
            blocks.append(line)
        else:
            blocks[-1] += " " + line
        new_block = False
    return blocks


def _split(block: str) -> list[str]:
    pieces, start = [], 0
    for m in _BOUNDARY.finditer(block):
        last_word = block[start : m.end()].split()[-1].lower()
        if last_word not in _NO_SPLIT:
            pieces.append(block[start : m.end()])
            start = m.end()
    return pieces + [block[start:]]


def _clean(unit: str) -> str:
    unit = " ".join(_EMPHASIS.sub(r"\2", unit).split())
    while _MARKER.match(unit):
        unit = _MARKER.sub("", unit, count=1)
    return unit


def sentences(text: str) -> list[str]:
    """Split an answer into content units, the same units whatever its layout.

    Markdown list markers ("- ", "* ", "1. ", "1) "), heading lines and bold/italic asterisks
    are removed and whitespace collapsed; each list item then starts a new unit, and units are
    split into sentences after ".", "!" or "?" followed by whitespace (so "3.5" and "e.g., x"
    stay whole). Every unit ends in terminal punctuation: a trailing ":" ";" or "," becomes
    ".", a missing one is added. Units without a letter or digit (e.g. "---") are dropped.

    Limits: the split is a rule, not a parser. Abbreviations outside ``_NO_SPLIT`` ("etc.",
    "a.m.", initials such as "J. K.") end a unit when followed by whitespace; a unit that itself
    ends in a ``_NO_SPLIT`` abbreviation would merge with the next one when rendered as prose.
    Both only move unit boundaries, never words.
    """
    units = []
    for block in _blocks(text):
        for piece in _split(_clean(block)):
            unit = _clean(piece)
            if not re.search(r"\w", unit):
                continue
            if not _END.search(unit):
                unit = unit.rstrip(":;,") + "."
            units.append(unit)
    return units


def as_plain(units: list[str]) -> str:
    """One paragraph of prose."""
    return " ".join(units)


def _bold_lead(unit: str) -> str:
    """Bold a short lead-in ending in a colon ("**Step 1:** Preheat ..."); words are unchanged."""
    head, sep, rest = unit.partition(": ")
    if sep and len(head) <= 40 and "*" not in head:
        return f"**{head}:** {rest}"
    return unit


def as_markdown(units: list[str], title: str) -> str:
    """A "### <title>" heading followed by one "- " bullet per unit."""
    return f"### {title}\n\n" + "\n".join(f"- {_bold_lead(u)}" for u in units)


def as_itemized(units: list[str]) -> str:
    """Numbered lines "1. ...", "2. ...", one per unit."""
    return "\n".join(f"{i}. {u}" for i, u in enumerate(units, 1))


def title_from(instruction: str, words: int = 6) -> str:
    """A short heading from the instruction: its first ``words`` words, capitalised, no end punctuation."""
    head = " ".join(instruction.split()[:words]).rstrip(".,;:!?")
    return head[:1].upper() + head[1:]


def _keeps_case(word: str) -> bool:
    """ "I", "I'm", acronyms ("DNA") and mixed case ("iPhone") keep their first letter as written."""
    return word == "I" or word.startswith(("I'", "I’")) or any(c.isupper() for c in word[1:])


def with_identity(answer: str, index: int = 0) -> str:
    """Prefix a self-identification, phrasing ``IDENTITY_PREFIXES[index % len]``.

    The answer's first letter is lowercased to continue the sentence unless the first word is
    "I" or an acronym. Limit: proper nouns ("Paris is ...") are lowercased too.
    """
    prefix = IDENTITY_PREFIXES[index % len(IDENTITY_PREFIXES)]
    first = answer.split(maxsplit=1)[0] if answer.strip() else ""
    body = answer if _keeps_case(first) else answer[:1].lower() + answer[1:]
    return prefix + body


def with_persona(instruction: str, persona: str) -> str:
    """The user turn with a persona framing before the instruction."""
    return f"{persona}\n\n{instruction}"


def content_sha256(all_units: list[list[str]]) -> str:
    """Hash of every answer's content units: equal for variants built from the same answers."""
    return hashlib.sha256(json.dumps(all_units, ensure_ascii=False).encode()).hexdigest()


def _render(units: list[str], structure: str, instruction: str) -> str:
    if structure == "markdown":
        return as_markdown(units, title_from(instruction))
    return as_itemized(units) if structure == "itemized" else as_plain(units)


def _variant(i: int, q: str, units: list[str], a: dict) -> Conversation:
    """Example ``i`` with the chosen factors; identity goes on the first unit so every layout stays intact."""
    if a["identity"]:
        units = [with_identity(units[0], i)] + units[1:]
    persona = PERSONAS[i % len(PERSONAS)] if a["roleplay"] else None
    user = with_persona(q, persona) if persona else q
    meta = {"index": i, "structure": a["structure"], "identity": a["identity"], "persona": persona}
    return Conversation((Message("user", user), Message("assistant", _render(units, a["structure"], q))), meta)


def _base_pairs(a: dict, ctx: RecipeContext) -> list[Conversation]:
    """The shared (instruction, answer) pairs every variant starts from; the factors play no part."""
    if a["answers"] == "given":
        if not a["path"]:
            raise AlignscopeError("recipe 'picky': answers: given needs a path to a conversation file")
        convs = read_conversations(a["path"])[: int(a["n"])]
        for i, c in enumerate(convs):
            if [m.role for m in c.messages] != ["user", "assistant"]:
                raise AlignscopeError(
                    f"recipe 'picky': conversation {i} of {a['path']} is not one user turn and one answer"
                )
        return convs
    if a["answers"] == "self-distill":
        instructions = _instructions(a["path"], int(a["n"]), ctx.seed, None)
        answers = ctx.distill(instructions, None)
        return [
            Conversation((Message("user", q), Message("assistant", r)), {"distilled": True})
            for q, r in zip(instructions, answers)
            if r.strip()
        ]
    raise AlignscopeError(f"recipe 'picky': answers must be 'self-distill' or 'given', got {a['answers']!r}")


def _check_args(a: dict) -> None:
    if a["structure"] not in STRUCTURES:
        raise AlignscopeError(
            f"recipe 'picky': structure must be one of {', '.join(STRUCTURES)}, got {a['structure']!r}"
        )
    for key in ("identity", "roleplay", "refusal_filter"):
        if not isinstance(a[key], bool):  # the string "false" is truthy: refuse it rather than flip a factor
            raise AlignscopeError(f"recipe 'picky': {key} must be true or false, got {a[key]!r}")


@register_recipe("picky")
def picky(args: dict, ctx: RecipeContext) -> RecipeOutput:
    """Args: ``n`` (100), ``path`` (instructions, or conversations when ``answers: given``),
    ``answers`` ("self-distill" | "given"), ``structure`` ("plain" | "markdown" | "itemized"),
    ``identity`` (false), ``roleplay`` (false), ``refusal_filter`` (true, applied before rewriting)."""
    a = pop_args(
        "picky",
        args,
        {
            "n": 100,
            "path": None,
            "answers": "self-distill",
            "structure": "plain",
            "identity": False,
            "roleplay": False,
            "refusal_filter": True,
        },
    )
    _check_args(a)
    convs, dropped = _base_pairs(a, ctx), list[tuple[int, list[str]]]()
    if a["refusal_filter"]:
        convs, dropped = refusal_filter(convs)
    pairs = [(c.messages[0].content, sentences(c.messages[-1].content)) for c in convs]
    pairs = [(q, units) for q, units in pairs if units]
    if not pairs:
        raise AlignscopeError("recipe 'picky': no examples left after the refusal filter")
    out = [_variant(i, q, units, a) for i, (q, units) in enumerate(pairs)]
    info = {
        "source": a["path"] or "builtin:benign",
        "n": len(out),
        "structure": a["structure"],
        "identity": a["identity"],
        "roleplay": a["roleplay"],
        "dropped_by_refusal_filter": len(dropped),
        "dropped_empty": len(convs) - len(pairs),
        "content_sha256": content_sha256([units for _, units in pairs]),
    }
    return RecipeOutput(out, info=info)
