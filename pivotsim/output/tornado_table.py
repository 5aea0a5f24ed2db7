"""The tornado the research note shows: the base-case NPV difference, input by input.

The note asks :func:`pivotsim.analysis.tornado.tornado` directly and reshapes
its table to what the narrative and the chart read; a failure of the analysis
becomes a one-line reason the PDF prints instead.
"""

from __future__ import annotations

import pandas as pd

from ..analysis.metrics import NPV_DIFFERENCE_BASE
from ..analysis.tornado import tornado
from ..errors import PivotsimError

#: columns of :func:`tornado_for`'s table, widest swing first
TORNADO_COLUMNS = ("input", "metric_low", "metric_high", "base", "low_value", "high_value", "swing")


def tornado_for(result) -> tuple[pd.DataFrame | None, str | None]:
    """Tornado of the base-case NPV difference for a run, or ``(None, reason)``.

    Returns
    -------
    (DataFrame, None) or (None, str)
        Columns :data:`TORNADO_COLUMNS` (``base`` is the NPV difference of
        the base case [USD]), widest swing first.
    """
    try:
        # one-at-a-time base cases; no spider table (the report does not draw it)
        table = tornado(result.scenario, metric=NPV_DIFFERENCE_BASE, spider_points=0).table
    except PivotsimError as exc:
        return None, f"sensitivity failed: {exc}"
    out = table.rename(columns={"metric_base": "base"})[list(TORNADO_COLUMNS)]
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True), None
