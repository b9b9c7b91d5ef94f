"""The package's structure holds: no module reaches into another package's private module, and the
study orchestrator is imported only by the entry points that run a study."""

import ast
from pathlib import Path

from tests.conftest import ROOT

SRC = ROOT / "src" / "alignscope"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute ``alignscope`` import in a source file, deferred ones too."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
    return [(line, m) for line, m in out if m.startswith("alignscope")]


def package_of(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1]) if len(parts) > 2 or parts[-1] == "__init__" else ".".join(parts)


def test_no_module_imports_another_packages_private_module():
    offences = []
    for path in sorted(SRC.rglob("*.py")):
        mine = package_of(path)
        for line, module in imports(path):
            parts = module.split(".")
            private = next((i for i, p in enumerate(parts) if p.startswith("_")), None)
            if private is None:
                continue
            owner = ".".join(parts[:private])
            if not (mine == owner or mine.startswith(owner + ".")):
                offences.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert offences == []


def test_only_entry_points_import_the_study_orchestrator():
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                   if any(m == "alignscope.study" for _, m in imports(p)))
    assert users == ["cli.py"]


def test_nothing_a_user_runs_reads_the_reference_data_beside_the_project():
    shipped = [*SRC.rglob("*.py"), *(ROOT / "studies").glob("*.yaml"), ROOT / "README.md"]
    assert [str(p.relative_to(ROOT)) for p in shipped if "shared/data" in p.read_text()] == []
