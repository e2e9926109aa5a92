"""The selection and pacing options are declared once: the CLI and the pytest plugin take the same
ones, with the same checks, and ``ipcbench run`` hands its values to pytest unchanged."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import launch, options
from ipcbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
EVERY = options.SELECTION + options.PACING


class _Group:
    """What the plugin's ``pytest_addoption`` hands to :func:`options.add_pytest_options`."""

    def __init__(self) -> None:
        self.options: dict[str, dict[str, object]] = {}

    def addoption(self, *opts: str, **attrs: object) -> None:
        (name,) = opts
        self.options[name] = attrs


def test_both_front_doors_are_generated_from_one_table():
    group = _Group()
    options.add_pytest_options(group, EVERY)
    parser = argparse.ArgumentParser()
    options.add_arguments(parser, EVERY)
    cli = {a.option_strings[0]: a for a in parser._actions if a.option_strings[0].startswith("--")}
    for option in EVERY:
        ours, theirs = cli[f"--{option.name}"], group.options[f"--ipc-{option.name}"]
        assert theirs.get("type") is ours.type
        assert theirs.get("default") == ours.default
        if not option.plugins_add_choices:
            assert theirs.get("choices") == ours.choices


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--processes", "0"], "must be at least 1, not 0"),
        (["--payload", "1XB"], "cannot parse size '1XB'"),
        (["--pattern", "nope"], "invalid choice: 'nope'"),
        (["--placement", "left"], "invalid choice: 'left'"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2_from_the_cli(capsys, argv, message):
    assert main(["list", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_the_plugin_refuses_the_same_values_as_a_usage_error():
    """Its copies used to take ``--ipc-processes=0`` and any payload text until the selection ran."""
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "benchmarks"), "--collect-only", "-q"]
    for bad, message in (("--ipc-processes=0", "must be at least 1, not 0"), ("--ipc-payload=1XB", "1XB")):
        proc = subprocess.run([*cmd, bad], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
        assert message in proc.stderr


def test_run_hands_its_values_to_pytest_under_the_same_names():
    values = {o.dest: o.default if not o.repeat else [] for o in EVERY}
    values.update(mechanism=["pipe", "queue"], payload=[1024], start_method=["spawn"], rounds=3, deadline=5.0)
    command = launch.pytest_command(launch.Request(options=values, plugins=("/p.py",)), Path("/tmp/r.json"))
    ipc = [a for a in command if a.startswith("--ipc-") and a != "--ipc-progress"]
    assert ipc == [
        "--ipc-mechanism=pipe",
        "--ipc-mechanism=queue",
        "--ipc-payload=1024",
        "--ipc-start-method=spawn",
        "--ipc-rounds=3",
        "--ipc-plugin=/p.py",
    ]
