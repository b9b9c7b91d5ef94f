"""Generation: the ``Generator`` protocol, the hf and api backends, and the cached ``generate`` stage."""

from alignscope.generate._api import ApiGenerator, public_url, render_messages, served_name
from alignscope.generate._hf import HFGenerator, SamplingConfig, render_prompt
from alignscope.generate._stage import Generator, generate_cached, generation_key

__all__ = ["ApiGenerator", "Generator", "HFGenerator", "SamplingConfig", "generate_cached", "generation_key", "public_url",
           "render_messages", "render_prompt", "served_name"]
