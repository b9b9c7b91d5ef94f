"""Generation: the ``Generator`` protocol, the HF backend, and the cached ``generate`` stage."""

from alignscope.generate._hf import HFGenerator, SamplingConfig, render_prompt
from alignscope.generate._stage import Generator, generate_cached, generation_key

__all__ = ["Generator", "HFGenerator", "SamplingConfig", "generate_cached", "generation_key", "render_prompt"]
