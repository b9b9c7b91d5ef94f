"""A registry of safety benchmarks, fine-tuning sets and preference sets, loaded the way users already have them.

``load("hexphi", path="HEx-PHI/")`` reads a local copy in the upstream layout;
``load("xstest", workspace=".alignscope")`` reads the copy ``alignscope data fetch xstest`` cached;
``load("jbb")`` goes to the Hub through ``datasets``. Every load returns a :class:`LoadedSet`:
the records plus their exact source, revision, row count and hash. See docs/DATASETS.md.
"""

from alignscope.registry import sets  # noqa: F401  (registers every set)
from alignscope.registry._benchmarks import load_benchmark, load_benchmark_set, skip_reason
from alignscope.registry._entry import DatasetEntry, LoadedSet, Parsed, Row, record_category, records_sha256, select
from alignscope.registry._filter import REFUSAL_PATTERNS, drop_reason, remove_refusals
from alignscope.registry._registry import REGISTRY, fetch, get, load, names, register
from alignscope.registry._sources import cache_dir

__all__ = [
    "REFUSAL_PATTERNS",
    "REGISTRY",
    "DatasetEntry",
    "LoadedSet",
    "Parsed",
    "Row",
    "cache_dir",
    "drop_reason",
    "fetch",
    "get",
    "load",
    "load_benchmark",
    "load_benchmark_set",
    "names",
    "record_category",
    "records_sha256",
    "register",
    "remove_refusals",
    "select",
    "skip_reason",
]
