"""How values show in a notebook or a REPL: one `Table`, as text and as HTML.

IPython calls `_repr_pretty_(p, cycle)` for its pretty printer and `_repr_html_()` for
Jupyter's rich output. A class with a `_table()` sets both to the functions here, in its own
body: IPython's pretty printer walks the class's MRO and stops at the first class that
defines `__repr__` (a dataclass does) or is a `list`/`dict`, so a mixin would never be
reached. Nothing here runs
on the call path: a table is built only when a value is shown, and `html` is imported then.
Every cell is plain text, escaped in the HTML, so a model's answer cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

__all__ = ["Displayed", "Table", "brief", "clip", "money", "repr_html", "repr_pretty"]

TEXT_LIMIT = 300  # characters of an answer shown; the full text is `.text`


def brief(value: object, width: int = 60) -> str:
    """A repr of `value` for an error message: at most `width` characters and a few levels deep,
    so a huge or deeply nested (even self-referencing) argument cannot break the message."""
    import reprlib  # only error messages get here

    shown = reprlib.Repr()
    shown.maxlevel, shown.maxstring, shown.maxother = 3, width, width
    text = shown.repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def money(cost: float | None) -> str:
    """USD to the 1e-8 (a cheap call costs a few millionths), or "unpriced"."""
    return "unpriced" if cost is None else f"${cost:.8f}"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """At most `limit` characters of `text`, saying how long the rest is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


class Table:
    """A caption, an optional header row and rows of strings; each row's first cell labels it.

    `right` are the indexes of columns aligned right (numbers). A cell or the caption may
    hold several lines.
    """

    __slots__ = ("caption", "headers", "right", "rows")

    def __init__(
        self,
        caption: str,
        rows: Sequence[Sequence[str]],
        headers: Sequence[str] = (),
        right: Collection[int] = (),
    ) -> None:
        self.caption = caption
        self.rows = rows
        self.headers = headers
        self.right = right

    def text(self) -> str:
        """Columns padded to their widest line, two spaces apart, under the caption."""
        grid = [list(self.headers)] if self.headers else []
        grid += [list(row) for row in self.rows]
        columns = max(map(len, grid), default=0)
        cells = [[(row[i] if i < len(row) else "").split("\n") for i in range(columns)] for row in grid]
        widths = [max(len(line) for row in cells for line in row[i]) for i in range(columns)]
        lines = [self.caption]
        for row in cells:
            for k in range(max(map(len, row))):
                parts = (cell[k] if k < len(cell) else "" for cell in row)
                padded = (p.rjust(w) if i in self.right else p.ljust(w) for i, (p, w) in enumerate(zip(parts, widths)))
                lines.append(("  " + "  ".join(padded)).rstrip())
        return "\n".join(lines)

    def html(self) -> str:
        """A `<table>` with the caption, a header row if any, and each row's label as its `<th>`."""
        from html import escape

        def lines(value: str) -> str:
            return escape(value).replace("\n", "<br>")

        def cell(tag: str, i: int, value: str) -> str:
            align = "right" if i in self.right else "left"
            return f'<{tag} style="text-align:{align}">{lines(value)}</{tag}>'

        head = ""
        if self.headers:
            head = "<thead><tr>" + "".join(cell("th", i, h) for i, h in enumerate(self.headers)) + "</tr></thead>"
        body = "".join(
            "<tr>" + "".join(cell("td" if i else "th", i, value) for i, value in enumerate(row)) + "</tr>"
            for row in self.rows
        )
        caption = f'<caption style="text-align:left">{lines(self.caption)}</caption>'
        return f"<table>{caption}{head}<tbody>{body}</tbody></table>"


class Displayed(Protocol):
    """A value that can say what it is as a `Table`."""

    def _table(self) -> Table: ...


def repr_pretty(self: Displayed, p: Any, cycle: bool) -> None:
    """IPython's pretty printer: only `p.text` is used, so any printer with `text()` works."""
    p.text(f"{type(self).__name__}(...)" if cycle else self._table().text())


def repr_html(self: Displayed) -> str:
    """Jupyter's rich output."""
    return self._table().html()
