"""The project's promises about itself: the README's commands are the ones CI runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'TEST_COMMAND="(.+)"', ci).group(1)
    assert command in (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_main_command():
    """The first command a new user types is run by CI exactly as the README prints it."""
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'MAIN_COMMAND="(.+)"', ci).group(1)
    readme = (ROOT / "README.md").read_text()
    assert "ipcbench run" in command and f"\n{command}\n" in readme


def test_import_is_light():
    """``import ipcbench`` and the CLI module must not pull in pandas or matplotlib (click's test_imports)."""
    code = (
        "import sys, ipcbench, ipcbench.cli, ipcbench.harness;"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
