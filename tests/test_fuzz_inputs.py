"""Malformed files never show a traceback: every reader and the config loader either read the input
or raise the project's own one-line error. Property-based, with a bounded number of examples."""

import json
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignscope.config import StudyConfig, load_config
from alignscope.data import read_conversations, read_prompts
from alignscope.errors import AlignscopeError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

# Pieces that make the formats' parsers work hard: delimiters, quotes, BOMs, invalid UTF-8, nesting.
TOKENS = st.sampled_from(['"', ",", "\n", "\r\n", "{", "}", "[", "]", ":", "\t", "\\", "prompt", "messages", "role",
                          "user", "assistant", "content", "expected", "comply", "null", "1e999", "\ufeff", "- ", "&a",
                          "*a", "<<: ", "!!python/object", "---", "#", "%YAML 1.1", "'"])
TEXT = st.lists(st.one_of(TOKENS, st.text(string.printable, max_size=8)), max_size=40).map("".join)
RAW = st.one_of(TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=200),
                TEXT.map(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8", "surrogatepass")))


def json_values(depth: int = 3) -> st.SearchStrategy:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["role", "content", "messages", "prompt", "text",
                                                                      "instruction", "output", "expected", "id"]),
                                                     inner, max_size=4)), max_leaves=12)


def _outcome(read, suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"input{suffix}"
        path.write_bytes(data)
        try:
            read(path)
        except AlignscopeError as e:
            assert "\n" not in str(e) and str(e)  # one line, never empty


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".txt", ""])
@FUZZ
@given(data=RAW)
def test_prompt_reader_never_raises_anything_but_its_own_error(suffix, data):
    _outcome(read_prompts, suffix, data)


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
@FUZZ
@given(data=RAW)
def test_conversation_reader_never_raises_anything_but_its_own_error(suffix, data):
    _outcome(read_conversations, suffix, data)


@FUZZ
@given(rows=st.lists(json_values(), max_size=5))
def test_structured_but_wrong_jsonl_rows_are_located_errors(rows):
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    _outcome(read_conversations, ".jsonl", data)
    _outcome(read_prompts, ".jsonl", data)


@FUZZ
@given(data=RAW)
def test_study_loader_never_raises_anything_but_its_own_error(data):
    _outcome(lambda p: load_config(p, StudyConfig), ".yaml", data)


def test_deep_nesting_is_an_error_not_a_recursion_crash(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(AlignscopeError, match="nested too deeply"):
        read_conversations(deep)
    yml = tmp_path / "deep.yaml"
    yml.write_text("a: " + "[" * 50_000 + "]" * 50_000)
    with pytest.raises(AlignscopeError):
        load_config(yml, StudyConfig)
