"""Every command the README shows runs: its ``sh`` blocks, top to bottom, in a copy of the clone.

The README's convention: a ```text block is a synopsis (placeholders, ``[optional]`` parts) and is never
run; a ```sh block runs as written.  The two install-and-run commands at the top are left to CI, which
runs them itself.  One substitution, so the test stays small: an ``ipcbench run`` without
``--mechanism`` (the quick profile, about a minute) gets :data:`TINY` appended; any axis given on the
command line replaces the profile's own.  Blocks share the copy, so a later block reads the results an
earlier one saved.  About 1.5 min on 2 free cores, most of it ``tox -e bench-compare``'s virtual
environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: One latency scenario, three short rounds.
TINY = "--mechanism pipe_bytes --pattern latency --payload 1KiB --processes 2 --rounds 3 --round-time 0.005"
#: What the README must show running, each at least once.
COMMANDS = (
    "ipcbench run",
    "ipcbench list",
    "ipcbench mechanisms",
    "ipcbench info",
    "ipcbench selfcheck",
    "ipcbench report",
    "ipcbench compare",
    "ipcbench history",
    "ipcbench export",
    "pytest benchmarks/",
    "tox -e bench-compare",
)
#: The install commands at the top, run by CI (.ci/run and the benchmark workflow).
CI_RUNS = "python3 -m venv .venv && "
BLOCK_DEADLINE_S = 600  # tox builds a virtual environment: minutes on a cold cache

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def runnable(text: str) -> list[str]:
    """The ``sh`` blocks to run, the tiny selection substituted, CI's install commands left out."""
    out = []
    for lang, body in blocks(text):
        if lang != "sh" or body.startswith(CI_RUNS):
            continue
        out.append("\n".join(_tiny(line) for line in body.splitlines()))
    return out


def _tiny(line: str) -> str:
    code, hash_, comment = line.partition(" #")
    if code.startswith("ipcbench run ") and "--mechanism" not in code:
        code = f"{code.rstrip()} {TINY} "
    return code + hash_ + comment


def test_blocks_follow_the_convention():
    found = blocks(README.read_text())
    assert {lang for lang, _ in found} <= {"sh", "text"}, "fence every block as ```sh (run) or ```text"
    top = [body for lang, body in found if lang == "sh" and body.startswith(CI_RUNS)]
    assert len(top) == 2 and found[0][1] == top[0] and found[1][1] == top[1]
    for lang, body in found:
        if lang == "sh":  # placeholders belong in synopses
            assert not re.search(r"\[--|RESULTS\.json|BASELINE|CURRENT|\bFILE\b|\.\.\.", body), body
    shown = "\n".join(runnable(README.read_text()))
    missing = [c for c in COMMANDS if c not in shown]
    assert not missing, f"the README runs none of: {missing}"


def test_the_substitution_keeps_comments_and_explicit_selections():
    assert _tiny("ipcbench run --profile quick --report report   # measure") == (
        f"ipcbench run --profile quick --report report {TINY}  # measure"
    )
    assert _tiny("ipcbench run --mechanism queue -o x.json") == "ipcbench run --mechanism queue -o x.json"
    assert _tiny("ipcbench report x.json") == "ipcbench report x.json"


def _copy_of_the_clone(dest: Path) -> Path:
    """The tracked files (a clone as a user has it), or the tree without local state outside git."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False, timeout=60)
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, dest / name)
        return dest
    ignore = shutil.ignore_patterns(".venv*", ".tox", ".git", "report", "__pycache__", "*.egg-info")
    shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)
    for stray in (dest / "results").glob("*.json"):
        if not stray.name.startswith("baseline"):
            stray.unlink()
    return dest


def test_every_sh_block_of_the_readme_runs(tmp_path):
    clone = _copy_of_the_clone(tmp_path / "clone")
    # This interpreter's environment stands for the README's activated .venv, and the copy's own
    # package comes first: an editable install points at this checkout, not at the copy, and a child
    # started from the copy (python -m pytest) would find the copy's ipcbench beside it anyway.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(clone),
    }
    for key in ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "VIRTUAL_ENV", "TOX_WORK_DIR"):
        env.pop(key, None)
    for block in runnable(README.read_text()):
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_DEADLINE_S,
            check=False,
        )
        if done.returncode:
            pytest.fail(
                f"README block exited {done.returncode}:\n{block}\n--- stdout (end) ---\n"
                f"{done.stdout[-3000:]}\n--- stderr (end) ---\n{done.stderr[-3000:]}"
            )
    # What the blocks promise to leave behind.
    assert (clone / "results" / "current.json").is_file()
    assert (clone / "report" / "index.html").is_file()
    assert (clone / "report" / "history" / "index.html").is_file()
    assert (clone / "latency.json").is_file() and (clone / "out.json").is_file()
