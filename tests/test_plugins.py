"""Plugins: loaded by --plugin and entry points, measured like the built-ins, refused in one line."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ipcbench import api
from ipcbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tcp_connection.py"
PLUGINS = Path(__file__).resolve().parent / "plugins"
TINY_RUN = ["--rounds", "2", "--round-time", "0.005", "--trials", "2", "--spares", "0", "--placement", "none"]
METHODS = ["--start-method", "fork", "--start-method", "spawn", "--start-method", "forkserver"]


def ipcbench(
    *argv: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """As a user runs it, this checkout first on the path."""
    return subprocess.run(
        [sys.executable, "-m", "ipcbench", *argv],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def readme_command() -> list[str]:
    """The command of the README's "Measure your own channel" section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Measure your own channel") :]
    line = next(x for x in section.splitlines() if x.startswith("ipcbench run --plugin"))
    return shlex.split(line)[1:]


def test_a_plugin_is_listed_beside_the_builtins(capsys, registry):
    plugin = str(PLUGINS / "lossy_queue.py")
    assert (
        main(
            [
                "list",
                "--plugin",
                plugin,
                "--mechanism",
                "lossy_queue",
                "--processes",
                "3",
                "--payload",
                "1KiB",
                "--ids",
            ]
        )
        == 0
    )
    ids = capsys.readouterr().out.split()
    assert ids == [
        "lossy_queue-throughput-3p-2to1-1KiB-fork-packed",
        "lossy_queue-throughput-3p-1to2-1KiB-fork-packed",
    ]
    assert main(["mechanisms", "--plugin", plugin]) == 0
    out = capsys.readouterr().out
    assert "pipe_bytes " in out and "lossy_queue " in out
    assert api.origin("lossy_queue") == plugin  # what a spawned worker loads


def test_the_example_plugin_is_listed_beside_the_builtins(capsys, registry):
    assert main(["list", "--plugin", str(EXAMPLE), "--mechanism", "tcp_connection", "--ids"]) == 0
    ids = capsys.readouterr().out.split()
    assert "tcp_connection-throughput-2p-1KiB-fork-packed" in ids
    assert "tcp_connection-latency-2p-1KiB-fork-packed" in ids
    assert main(["mechanisms", "--plugin", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "pipe_bytes " in out and "tcp_connection " in out
    assert api.origin("tcp_connection") == str(EXAMPLE)  # what a spawned worker loads


def test_without_the_plugin_its_mechanism_is_unknown(capsys):
    assert main(["list", "--mechanism", "tcp_connection"]) == 2
    assert "invalid choice: 'tcp_connection'" in capsys.readouterr().err


def test_the_readme_example_runs_under_every_start_method_into_the_report(tmp_path, capsys, no_leaks):
    argv = readme_command()
    assert argv[:3] == ["run", "--plugin", "examples/tcp_connection.py"] and "pipe_bytes" in argv
    out, report = tmp_path / "run.json", tmp_path / "report"
    proc = ipcbench(*argv, *TINY_RUN, *METHODS, "-o", str(out), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["ipcbench"]["complete"] is True
    measured = {(b["extra_info"]["mechanism"], b["extra_info"]["pattern"], b["extra_info"]["start_method"]): b
                for b in data["benchmarks"]}  # fmt: skip
    for method in ("fork", "spawn", "forkserver"):
        for pattern in ("throughput", "latency"):
            for mechanism in ("tcp_connection", "pipe_bytes"):
                info = measured[mechanism, pattern, method]["extra_info"]
                # Two timed rounds a trial, each verified (count and checksums) or the run would have
                # failed; each trial with fresh workers, which load the plugin again.
                assert info["rounds"] == 2 * 2 and info["trial_count"] == 2 and info["messages"] > 0
    page = (report / "index.html").read_text()
    assert "tcp_connection" in page and "pipe_bytes" in page
    # The other readers key on the mechanism's name alone: the plugin needs no loading there.
    assert main(["compare", str(out), str(out), "--report-only", "--format", "json"]) == 0
    assert "tcp_connection-latency-2p-1KiB-forkserver" in capsys.readouterr().out
    assert main(["export", "--format", "bencher", str(out), "-o", str(tmp_path / "bencher.json")]) == 0
    assert "tcp_connection-throughput-2p-1KiB-spawn" in (tmp_path / "bencher.json").read_text()
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in (1, 2):
        (runs / f"{i}.json").write_text(out.read_text())
    assert main(["history", str(runs), "-o", str(tmp_path / "history")]) == 0
    assert "tcp_connection" in (tmp_path / "history" / "history.md").read_text()


def test_every_example_is_run_by_a_test():
    assert sorted((ROOT / "examples").glob("*.py")) == [EXAMPLE]  # a new example needs its own test


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_plugin_channel_that_loses_messages_fails_its_benchmark(tmp_path, method, no_leaks):
    out = tmp_path / "run.json"
    plugin = PLUGINS / "lossy_queue.py"
    argv = ["run", "--plugin", str(plugin), "--mechanism", "lossy_queue", "--mechanism", "pipe_bytes"]
    proc = ipcbench(*argv, "--payload", "1KiB", "--processes", "2", "--start-method", method, *TINY_RUN,
                    "--pattern", "throughput", "-o", str(out), cwd=tmp_path)  # fmt: skip
    sid = f"lossy_queue-throughput-2p-1KiB-{method}"
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{sid}: round" in proc.stdout and "failed verification: received" in proc.stdout
    assert f"1 scenarios failed and have no figures: {sid}" in proc.stderr
    data = json.loads(out.read_text())  # the channel that works is still measured and saved
    assert [b["extra_info"]["mechanism"] for b in data["benchmarks"]] == ["pipe_bytes"]
    assert data["ipcbench"]["failed"] == [sid]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        (
            str(PLUGINS / "bad_pattern.py"),
            "declares something invalid: mechanism 'gossip_pipe': unknown pattern",
        ),
        (str(PLUGINS / "broken_import.py"), "could not be imported: ModuleNotFoundError: No module named"),
        (str(PLUGINS / "no_such_plugin.py"), "no_such_plugin.py: no such file"),
        ("ipcbench_no_such_plugin", "could not be imported: ModuleNotFoundError"),
        ("ipcbench.scenario:no_function", "ipcbench.scenario has no function 'no_function'"),
        (str(PLUGINS / "declares_nothing.py"), "declares nothing: it must call ipcbench.api.register"),
    ],
)
@pytest.mark.parametrize("command", ["run", "list", "mechanisms"])
def test_a_plugin_that_fails_is_one_line_and_exit_2(capsys, registry, command, spec, needle):
    # An unknown mechanism too: were the plugin to load after all, nothing would run.
    guard = [] if command == "mechanisms" else ["--mechanism", "no_such_mechanism"]
    assert main([command, "--plugin", spec, *guard]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("ipcbench: error: plugin ")
    assert needle in err


def test_a_plugin_must_not_redeclare_a_builtin_nor_take_a_module_name(capsys, registry, tmp_path):
    (tmp_path / "twice.py").write_text(
        (PLUGINS / "lossy_queue.py").read_text().replace('name="lossy_queue"', 'name="pipe_bytes"')
    )
    assert main(["list", "--plugin", str(tmp_path / "twice.py")]) == 2
    assert "'pipe_bytes' is declared twice (built in)" in capsys.readouterr().err
    (tmp_path / "json.py").write_text("")  # importing it by name would give the standard library's
    assert main(["list", "--plugin", str(tmp_path / "json.py")]) == 2
    assert "the module name 'json' is already taken; rename the file" in capsys.readouterr().err


def _install_entry_point(site: Path, module: str, value: str) -> None:
    """A tiny installed distribution: a module and the dist-info that names it as a plugin."""
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{api.ENTRY_POINT_GROUP}]\n{module} = {value}\n")


#: An installed plugin that registers from a function its entry point names.
EP_MODULE = """
from ipcbench.api import Mechanism, register


def make_channel(resources):
    reader, writer = resources.ctx.Pipe(duplex=False)
    return writer, reader


def plug():
    register(
        Mechanism(
            name="ep_pipe",
            description="a Pipe from an installed package",
            make_channel=make_channel,
            bind_send=lambda end, size: end.send_bytes,
            bind_recv=lambda end, size: end.recv_bytes,
            carries="bytes",
            point_to_point=True,
            patterns=("throughput",),
        )
    )
"""


def test_an_installed_package_plugs_in_through_its_entry_point(tmp_path, no_leaks):
    site = tmp_path / "site"
    site.mkdir()
    (site / "ep_pipe.py").write_text(EP_MODULE)
    _install_entry_point(site, "ep_pipe", "ep_pipe:plug")
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    listed = ipcbench(
        "list", "--mechanism", "ep_pipe", "--processes", "2", "--payload", "8", "--ids", env=env
    )
    assert (listed.returncode, listed.stdout.split()) == (0, ["ep_pipe-throughput-2p-8B-fork-packed"]), (
        listed.stderr
    )
    # A spawned worker starts with the built-ins only: it loads the entry point's module and function.
    out = tmp_path / "run.json"
    argv = ["run", "--mechanism", "ep_pipe", "--processes", "2", "--payload", "8", "--start-method", "spawn"]
    ran = ipcbench(*argv, *TINY_RUN, "-o", str(out), cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    benchmarks = json.loads(out.read_text())["benchmarks"]
    assert [b["extra_info"]["scenario"] for b in benchmarks] == ["ep_pipe-throughput-2p-8B-spawn"]


def test_a_broken_entry_point_is_one_line_and_exit_2(capsys, registry, monkeypatch):
    from importlib.metadata import EntryPoint

    broken = EntryPoint(name="broken", value="ipcbench_no_such_plugin", group=api.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        "importlib.metadata.entry_points", lambda group: [broken] if group == api.ENTRY_POINT_GROUP else []
    )
    assert main(["mechanisms"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        "entry point 'broken' (ipcbench.plugins): plugin ipcbench_no_such_plugin could not be imported" in err
    )
    assert main(["info", "--json"]) == 0  # commands that do not select mechanisms do not load plugins
