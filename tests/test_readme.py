"""The README opens with two commands; CI must run exactly the second one."""

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("```bash") + 1
    return [l.split("#")[0].strip() for l in lines[start : start + 2]]


def test_readme_opens_with_install_and_run_then_install_and_test():
    run, test = readme_commands()
    assert run.startswith("bash scripts/setup.sh") and "alignscope run studies/quickstart.yaml" in run
    assert test.startswith("bash scripts/setup.sh") and "pytest" in test
    assert (ROOT / "studies" / "quickstart.yaml").is_file()


def test_ci_runs_the_readme_test_command():
    assert readme_commands()[1] in (ROOT / ".ci" / "run").read_text()
