"""Tables that fit the terminal: every number whole, titles on one line, at any width.

rich shrinks a table that is wider than the terminal by wrapping and then
cutting its cells (``-$407.…``), and wraps a title to the table's own width.
:func:`print_table` prints instead

* the title and the caption as lines of their own, wrapped only at the
  terminal's width (a 96-character title stays one line at 100 columns);
* the table as built when it fits;
* otherwise *stacked*: rows become columns (a statistics table of three
  businesses x seven statistics becomes seven rows x three columns), which
  keeps every figure whole;
* and when even that is too wide, with a lighter frame.

Each candidate is rendered at the terminal's width and accepted only if no
cell was cut (rich marks a cut with an ellipsis) and no line overflows.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported with the first table built: commands that print none never load it
    from rich.console import Console
    from rich.table import Table


def new_table(*args, **kwargs) -> Table:
    """``rich.table.Table(*args, **kwargs)``."""
    from rich.table import Table

    return Table(*args, **kwargs)


def natural_width(table: Table, console: Console) -> int:
    """Columns the table needs to show every cell on one line [characters]."""
    return console.measure(table, options=console.options.update(width=10_000)).maximum


def stacked(table: Table) -> Table:
    """The table transposed: its first column's cells become the headers, its headers the first column."""
    columns = table.columns
    labels = [str(cell) for cell in columns[0].cells]
    out = new_table(box=table.box, show_header=True, header_style=table.header_style)
    out.add_column(str(columns[0].header or ""), justify="left")
    for label in labels:
        out.add_column(label, justify="right")
    for column in columns[1:]:
        out.add_row(str(column.header), *column.cells)
    return out


def _lighter(table: Table) -> Table:
    from rich import box

    table.box = box.SIMPLE_HEAD
    table.padding = (0, 1)
    return table


def _fits(table: Table, width: int, console: Console) -> bool:
    """True when the table renders within ``width`` with no cell cut (rendered, not estimated)."""
    from rich.cells import cell_len
    from rich.console import Console

    probe = Console(width=width, file=io.StringIO(), record=True, color_system=None, legacy_windows=False)
    probe.print(table, crop=False)  # an overflowing table shows as long lines, not cropped ones
    text = probe.export_text()
    return "…" not in text and all(cell_len(line.rstrip()) <= width for line in text.splitlines())


def fit_table(table: Table, width: int, console: Console | None = None) -> Table:
    """The table as built if every cell fits whole in ``width`` (headers may wrap), else stacked, else lighter.

    Title and caption are left to the caller (:func:`print_table`).
    """
    if console is None:
        from rich.console import Console

        console = Console(width=width)
    if _fits(table, width, console):
        return table
    if len(table.columns) > 2 and table.row_count <= 6:
        stack = stacked(table)
        if _fits(stack, width, console):
            return stack
        if _fits(_lighter(stack), width, console):
            return stack
    lighter = _lighter(table)
    return lighter


def print_table(console: Console, table: Table) -> None:
    """Print a table to fit ``console``: title and caption as their own lines, the table whole (see the module)."""
    from rich.text import Text

    title, caption = table.title, table.caption
    table.title = table.caption = None
    if title:
        console.print(Text(str(title), style="italic"), soft_wrap=False, highlight=False)
    console.print(fit_table(table, console.width, console))
    if caption:
        console.print(Text(str(caption), style="dim"), highlight=False)
