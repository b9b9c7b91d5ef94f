"""Generation: the ``Generator`` protocol, the hf and api backends, and the cached ``generate`` stage."""

from alignscope.generate._api import ApiGenerator, render_messages, served_name
from alignscope.generate._backend import Backend
from alignscope.generate._hf import HFGenerator, SamplingConfig, render_prompt
from alignscope.generate._stage import Generator, generate_cached, generation_key
from alignscope.generate._vllm import require_vllm
from alignscope.http import public_url

__all__ = [
    "ApiGenerator",
    "Backend",
    "Generator",
    "HFGenerator",
    "SamplingConfig",
    "generate_cached",
    "generation_key",
    "public_url",
    "render_messages",
    "render_prompt",
    "require_vllm",
    "served_name",
]
