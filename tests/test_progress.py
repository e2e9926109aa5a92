"""Long commands say how far they are on stderr, and stdout stays the result alone (pipes stay clean)."""

import io
import json
import sys

from synthetic import BASELINE, FIXTURE, read, slow_all, write

from ipcbench import progress
from ipcbench.cli import main


def runs_dir(tmp_path, name, n):
    """n saved runs of the committed baseline, a little apart, each at its own commit."""
    d = tmp_path / name
    d.mkdir()
    for i in range(n):
        data = slow_all(read(BASELINE), 1 + 0.01 * i)
        data["commit_info"]["id"] = f"{i:040x}"
        data["commit_info"]["time"] = f"2026-11-{10 + i:02d}T12:00:00+00:00"
        write(d / f"run{i}.json", data)
    return d


def progress_lines(err, command):
    return [
        line for line in err.splitlines() if line.startswith(f"ipcbench {command}: ") and line.endswith("…")
    ]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def screen(text):
    """What a terminal shows at the end: CR returns to the line's start, ESC[K erases to its end."""
    lines, col = [""], 0
    i = 0
    while i < len(text):
        if text.startswith("\033[K", i):
            lines[-1] = lines[-1][:col]
            i += 3
            continue
        ch = text[i]
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("")
            col = 0
        else:
            line = lines[-1]
            lines[-1] = line[:col] + ch + line[col + 1 :]
            col += 1
        i += 1
    return "\n".join(lines)


def test_history_progress_on_stderr_stdout_only_the_result(tmp_path, capsys):
    runs = runs_dir(tmp_path, "runs", 4)
    assert main(["history", str(runs), "-o", str(tmp_path / "page")]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"4 runs, 0 step(s); wrote {tmp_path / 'page' / 'index.html'} and {tmp_path / 'page' / 'history.md'}"
    ]
    lines = progress_lines(err, "history")
    mechanisms = sorted({b["extra_info"]["mechanism"] for b in read(BASELINE)["benchmarks"]})
    assert lines[0] == f"ipcbench history: chart 1 of {len(mechanisms)} ({mechanisms[0]})…"
    assert lines[-1] == f"ipcbench history: chart {len(mechanisms)} of {len(mechanisms)} ({mechanisms[-1]})…"
    assert lines == err.splitlines()  # nothing else on stderr; off a terminal, no loading count


def test_on_a_terminal_the_loading_count_is_drawn_in_place_then_erased(tmp_path, capsys, monkeypatch):
    runs = runs_dir(tmp_path, "runs", 3)
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["history", str(runs), "-o", str(tmp_path / "page")]) == 0
    raw = term.getvalue()
    for n in (1, 2, 3):
        assert f"\ripcbench history: loading run {n} of 3 (run{n - 1}.json)…\033[K" in raw
    # Erased once loaded: the terminal keeps only the chart lines (every one, on a terminal).
    mechanisms = sorted({b["extra_info"]["mechanism"] for b in read(BASELINE)["benchmarks"]})
    assert screen(raw).splitlines() == [
        f"ipcbench history: chart {n} of {len(mechanisms)} ({m})…" for n, m in enumerate(mechanisms, 1)
    ]
    assert capsys.readouterr().out.startswith("3 runs, 0 step(s)")


def test_on_a_terminal_an_unreadable_file_is_still_the_one_line_left(tmp_path, monkeypatch, capsys):
    a, b = runs_dir(tmp_path, "a", 3), runs_dir(tmp_path, "b", 3)
    (b / "run1.json").write_text("{")
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["compare", str(a), str(b)]) == 2
    assert "loading" in term.getvalue()
    shown = screen(term.getvalue()).strip().splitlines()
    assert len(shown) == 1 and shown[0].startswith("ipcbench compare: error:")
    assert capsys.readouterr().out == ""


def test_report_progress_on_stderr_stdout_only_the_page(tmp_path, capsys):
    assert main(["report", str(FIXTURE), "-o", str(tmp_path / "rep")]) == 0
    out, err = capsys.readouterr()
    assert out == f"{tmp_path / 'rep' / 'index.html'}\n"
    lines = progress_lines(err, "report")
    assert lines[0] == f"ipcbench report: {len(read()['benchmarks'])} benchmarks loaded; writing the report…"
    assert any(line.startswith("ipcbench report: drawing ") for line in lines[1:])


def test_compare_of_directories_stdout_is_the_json_alone(tmp_path, capsys):
    a, b = runs_dir(tmp_path, "a", 3), runs_dir(tmp_path, "b", 3)
    assert main(["compare", str(a), str(b), "--format", "json", "--report-only"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["pairs"]
    assert "…" not in err  # off a terminal the loading count stays silent


def test_steps_off_a_terminal_are_thinned_to_about_ten_lines(capsys):
    for n in range(1, 35):
        progress.step("history", "chart", n, 34)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "ipcbench history: chart 1 of 34…"
    assert lines[-1] == "ipcbench history: chart 34 of 34…"
    assert 3 <= len(lines) <= 12
    assert len(set(lines)) == len(lines)
