"""Building blocks of archsearch's self-contained HTML reports: a page with a table of contents, sections,
tables and inline SVG figures, and one stylesheet in the page. Nothing is fetched from anywhere: no scripts,
fonts, images or styles outside the file, so a report opens offline and can be mailed as one file.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archsearch.report.figures import arch_pieces, svg_markup

ARCH_INLINE = 130  # arch strings up to this long are shown whole (wrapping at their separators)
ARCH_SUMMARY = 56  # characters of a longer one shown before its full string, one click away in a <details>

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 1.5em 2em 4em; color: #1f2328; background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em;
     margin-top: 2em; } h3 { font-size: 1.05em; margin-bottom: 0.3em; }
.subtitle { color: #57606a; margin-top: 0; }
nav { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6em 1em; }
nav a { margin-right: 1.2em; color: #0969da; text-decoration: none; white-space: nowrap; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.88em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.86em; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.8em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-all; }
figure { margin: 1em 0; } figcaption { color: #57606a; font-size: 0.88em; margin-top: 0.3em; }
svg.figure { max-width: 100%; height: auto; }
.note { color: #57606a; font-size: 0.9em; } .warn { color: #9a6700; }
.wide { max-width: 100%; overflow-x: auto; }
code.arch { overflow-wrap: break-word; }
details.arch summary { cursor: pointer; } details.arch[open] summary { margin-bottom: 0.3em; }
"""


@dataclass(frozen=True)
class Section:
    """One ``<section>``: ``anchor`` is its id in the table of contents."""

    anchor: str
    title: str
    body: str


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int = 4) -> str:
    """A readable number (``-`` for missing or non-finite values); anything else as text."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:,.{digits}g}" if abs(value) >= 10 ** digits else f"{value:.{digits}g}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], highlight: int | None = None,
          raw_columns: Sequence[int] = ()) -> str:
    """An HTML table; numbers right-aligned; ``raw_columns`` hold markup already escaped; row ``highlight``
    shaded."""
    head = "".join(f"<th>{esc(h).replace('_', '_<wbr>')}</th>" for h in headers)  # final_test_acc may wrap
    body = []
    for index, row in enumerate(rows):
        cells = []
        for column, value in enumerate(row):
            if column in raw_columns:
                cells.append(f"<td>{value}</td>")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f'<td class="num">{esc(number(value))}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        css = ' class="best"' if index == highlight else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<div class=\"wide\"><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def arch_markup(text: str) -> str:
    """An arch string as code that wraps after its separators (``<wbr>``: nothing is added when copied)."""
    return f'<code class="arch">{"<wbr>".join(esc(piece) for piece in arch_pieces(text))}</code>'


def arch_cell(text: str) -> str:
    """An arch string for a table cell: whole and wrapping when short enough, else its first ARCH_SUMMARY
    characters with the full string in a ``<details>`` element below them (no tooltip needed)."""
    if len(text) <= ARCH_INLINE:
        return arch_markup(text)
    return (f'<details class="arch"><summary><code>{esc(text[:ARCH_SUMMARY])}...</code> '
            f'({len(text)} characters)</summary>{arch_markup(text)}</details>')


def key_values(pairs: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of facts."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(number(v))}</td></tr>" for k, v in pairs)
    return f"<table><tbody>{rows}</tbody></table>"


def figure_block(figure: Any, caption: str) -> str:
    """The figure inline as SVG with its caption (the matplotlib figure is released afterwards)."""
    markup = svg_markup(figure, title=caption)
    figure.clear()
    return f"<figure>{markup}<figcaption>{esc(caption)}</figcaption></figure>"


def paragraph(text: str, css: str = "", markup: str = "") -> str:
    """``text`` escaped, then ``markup`` (already HTML, e.g. an ``arch_markup``) as is."""
    return f'<p{f" class={chr(34)}{css}{chr(34)}" if css else ""}>{esc(text)}{markup}</p>'


def code_block(text: str) -> str:
    return f"<pre><code>{esc(text)}</code></pre>"


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole HTML document: title, subtitle, a table of contents and the sections in order."""
    toc = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    parts = [f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"subtitle\">{esc(subtitle)}</p><nav>{toc}</nav>"
            f"{''.join(parts)}</body></html>\n")
