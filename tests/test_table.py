"""The one table renderer: text, Markdown and HTML from the same cells."""

import pytest

from ipcbench import table

HEADERS = ("scenario", "rate", "note")
T = table.Table(
    HEADERS,
    (("pipe-throughput", "244k", "a|b"), ("x", "1.1M", "<b>&")),
    caption="Two rows.",
    lead="The answer.",
    align=table.aligned(HEADERS, [1]),
)


def test_text_pads_each_column_and_right_aligns_figures():
    lines = table.text(T).splitlines()
    assert lines == [
        "scenario         rate  note",
        "pipe-throughput  244k  a|b",
        "x                1.1M  <b>&",
    ]


def test_text_leaves_no_trailing_blanks_after_an_empty_last_cell():
    t = table.Table(("a", ""), (("x", ""), ("long cell", "")))
    assert all(line == line.rstrip() for line in table.text(t).splitlines())


def test_markdown_escapes_pipes_and_newlines_and_right_aligns_figures():
    md = table.markdown(T)
    assert md.splitlines() == [
        "**The answer.**",
        "",
        "| scenario | rate | note |",
        "|---|---:|---|",
        "| pipe-throughput | 244k | a\\|b |",
        "| x | 1.1M | <b>& |",
        "",
        "Two rows.",
    ]
    assert table.md_escape("a\nb\\|") == "a b\\\\\\|"


def test_html_escapes_every_cell_and_marks_figures():
    out = table.html(T)
    assert "<td>&lt;b&gt;&amp;</td>" in out and "<b>&" not in out
    assert '<th class="num">rate</th>' in out and '<td class="num">244k</td>' in out
    assert out.startswith('<p class="lead">The answer.</p><table>')
    assert out.endswith('<p class="caption">Two rows.</p>')


def test_a_table_without_headers_is_its_caption():
    empty = table.Table((), (), "No latency benchmarks.")
    assert table.markdown(empty) == "_No latency benchmarks._\n"
    assert table.html(empty) == '<p class="absent">No latency benchmarks.</p>'


def test_a_row_of_the_wrong_width_or_an_unknown_alignment_is_refused():
    with pytest.raises(ValueError, match="2 cells in a table of 3 columns"):
        table.Table(HEADERS, (("a", "b"),))
    with pytest.raises(ValueError, match="alignment"):
        table.Table(HEADERS, (), align=("centre",))


def test_a_page_has_the_shared_stylesheet_and_an_escaped_title():
    page = table.page("a <b> title", ["<p>body</p>"])
    assert page.startswith("<!DOCTYPE html>") and table.STYLESHEET in page
    assert "<h1>a &lt;b&gt; title</h1>" in page and "<p>body</p>" in page
