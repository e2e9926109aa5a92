"""Every table ipcbench prints, rendered one way per format: plain text, Markdown or HTML.

A :class:`Table` holds ready-formatted text cells (numbers come from :mod:`ipcbench.fmt`) and says
per column how to align them; :func:`text`, :func:`markdown` and :func:`html` render it, each through
its format's one escaper.  The report and history pages share :data:`STYLESHEET` through :func:`page`,
so every table looks the same wherever it appears.
"""

from __future__ import annotations

import dataclasses
import html as _html
from collections.abc import Iterable, Sequence

LEFT, RIGHT = "left", "right"
ALIGNMENTS = (LEFT, RIGHT)


@dataclasses.dataclass(frozen=True)
class Table:
    """Headers and rows of text cells; a table without headers stands for "nothing to show" and
    renders as its caption alone."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    #: One sentence that comes before the table: the table's answer in words.
    lead: str = ""
    #: Per column, :data:`LEFT` or :data:`RIGHT`; columns beyond it (or all, when empty) are left.
    align: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple(self.headers))
        object.__setattr__(self, "rows", tuple(tuple(r) for r in self.rows))
        object.__setattr__(self, "align", tuple(self.align))
        bad = [a for a in self.align if a not in ALIGNMENTS]
        if bad:
            raise ValueError(f"alignment must be {LEFT!r} or {RIGHT!r}, not {bad[0]!r}")
        width = len(self.headers)
        for row in self.rows:
            if len(row) != width:
                raise ValueError(f"a row of {len(row)} cells in a table of {width} columns: {row!r}")

    def alignment(self, column: int) -> str:
        return self.align[column] if column < len(self.align) else LEFT


def aligned(headers: Sequence[str], right: Iterable[int]) -> tuple[str, ...]:
    """The alignment of a table whose columns ``right`` (indices) hold figures."""
    numeric = set(right)
    return tuple(RIGHT if i in numeric else LEFT for i in range(len(headers)))


# --- text -------------------------------------------------------------------------------------------


def text(table: Table) -> str:
    """Columns two spaces apart, padded to their widest cell; no trailing blanks."""
    rows = [table.headers, *table.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(table.headers))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if table.alignment(i) == RIGHT else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# --- Markdown ---------------------------------------------------------------------------------------


def md_escape(cell: str) -> str:
    """A cell or a line of text that must stay on its line and inside its cell."""
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(table: Table) -> str:
    """A GitHub-flavoured pipe table (right-aligned figures), its lead in bold before it and its
    caption after it."""
    if not table.headers:
        return f"_{md_escape(table.caption)}_\n"
    rule = ["---:" if table.alignment(i) == RIGHT else "---" for i in range(len(table.headers))]
    lines = [f"**{md_escape(table.lead)}**", ""] if table.lead else []
    lines += [
        "| " + " | ".join(md_escape(h) or " " for h in table.headers) + " |",
        "|" + "|".join(rule) + "|",
        *("| " + " | ".join(md_escape(c) for c in row) + " |" for row in table.rows),
    ]
    if table.caption:
        lines += ["", md_escape(table.caption)]
    return "\n".join(lines) + "\n"


# --- HTML -------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text inside an HTML element or a quoted attribute."""
    return _html.escape(text, quote=True)


def html(table: Table) -> str:
    """A ``<table>`` (figures right-aligned), its lead before it and its caption after it."""
    if not table.headers:
        return f'<p class="absent">{escape(table.caption)}</p>'

    def cell(tag: str, i: int, value: str) -> str:
        cls = ' class="num"' if table.alignment(i) == RIGHT else ""
        return f"<{tag}{cls}>{escape(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(table.headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in table.rows
    )
    lead = f'<p class="lead">{escape(table.lead)}</p>' if table.lead else ""
    caption = f'<p class="caption">{escape(table.caption)}</p>' if table.caption else ""
    return f"{lead}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{caption}"


#: The one stylesheet of every page ipcbench writes (the report and the history).
STYLESHEET = """
body{font:15px/1.45 system-ui,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fff}
main{max-width:1200px;margin:0 auto;padding:1.5em 2em 4em}
h1{font-size:1.7em;margin:.2em 0 .1em} h2{margin-top:2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
nav{font-size:.9em;color:#555} nav a{margin-right:1em;color:#1f5fa0}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}
th,td{border:1px solid #d4d4d4;padding:.3em .6em;text-align:left;vertical-align:top}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f2f4f7} tr:nth-child(even) td{background:#fafbfc}
figure{margin:1em 0} img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{color:#444;font-size:.9em;max-width:70em}
.warn{background:#fff4e0;border-left:5px solid #e69500;padding:.5em .9em;margin:.4em 0}
.lead{font-size:1.1em;font-weight:600}
.absent{color:#777;font-style:italic} .files{font-size:.85em;color:#555}
details{margin:1em 0} summary{cursor:pointer;font-weight:600}
"""


def page(title: str, body: Iterable[str]) -> str:
    """A self-contained HTML page: the shared stylesheet, ``title`` as its heading, then ``body``
    (HTML fragments, already escaped)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLESHEET}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        *body,
        "</main></body></html>\n",
    ]
    return "\n".join(parts)
