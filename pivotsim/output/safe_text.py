"""Text that reaches matplotlib and the PDF's metadata, made safe.

* Matplotlib reads a pair of ``$`` in any label as mathtext: the tornado
  label ``$7.76B → $11.64B`` prints as an italic "7.76B → " between two
  plain numbers.  :func:`mpl_text` escapes every dollar sign that is not
  already escaped, so money reads as money in titles, ticks, legends and
  annotations.
* A PDF's ``CreationDate`` / ``ModDate`` should say when it was made.
  reportlab's invariant mode (no random ids, byte-identical output) pins them
  to 2000-01-01 unless ``SOURCE_DATE_EPOCH`` is set; :func:`generation_time`
  and :func:`stamp_pdf_time` put the note's generation time there instead,
  and honour ``SOURCE_DATE_EPOCH`` (reproducible-builds.org) for
  byte-identical builds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from types import SimpleNamespace

_DOLLAR = re.compile(r"(?<!\\)\$")


def mpl_text(text) -> str:
    """``text`` with every unescaped ``$`` escaped for matplotlib (``\\$``): never read as mathtext."""
    return _DOLLAR.sub(r"\\$", str(text))


def generation_time(now: dt.datetime | None = None) -> dt.datetime:
    """When a document is generated, in UTC, to the second.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970-01-01 UTC), when set, wins
    over ``now`` and the clock, so two builds give the same bytes.

    Raises
    ------
    ValueError
        ``SOURCE_DATE_EPOCH`` set but not a whole number of seconds.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise ValueError(f"SOURCE_DATE_EPOCH: {epoch!r} is not allowed; must be whole seconds since 1970")
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).replace(microsecond=0)


def pdf_timestamp(generated: dt.datetime) -> SimpleNamespace:
    """A reportlab time stamp (``reportlab.lib.utils.TimeStamp``'s fields) at ``generated`` (UTC)."""
    if generated.tzinfo is None:
        generated = generated.replace(tzinfo=dt.timezone.utc)
    utc = generated.astimezone(dt.timezone.utc)
    return SimpleNamespace(t=utc.timestamp(), lt=utc.timetuple(), YMDhms=tuple(utc.timetuple())[:6],
                           dhh=0, dmm=0, tzname="UTC")


def stamp_pdf_time(canvas, generated: dt.datetime) -> None:
    """Make a reportlab canvas write ``generated`` as the PDF's creation and modification date."""
    canvas._doc._timeStamp = pdf_timestamp(generated)
