"""The scenario PDF: a research note on one deal, or a book of several.

One deal: :func:`pivotsim.output.chapter.chapter_story` (the decision first,
then the evidence, the inputs and the method).  Several: a book
(:mod:`pivotsim.output.book`): the comparison, one chapter per deal, whose
numbers are those of the deal's own note, and the common market once in an
appendix.  The numbers a note shows beyond the run (cases, grids, drivers)
come from :func:`pivotsim.analysis.note_data.note_data`.

The file is written to a temporary name next to the target and renamed when
complete, so a failure never leaves a partial PDF.  For the same runs and
generation time the bytes are identical (reportlab's invariant mode, the
creation date set to the generation time, or ``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

from reportlab import rl_config
from reportlab.platypus import PageBreak

from .._version import __version__
from ..analysis.note_data import note_data
from ..errors import PivotsimError
from ..runs import RunResult
from .book import appendix_story, comparison_story, shared_market_paths
from .chapter import chapter_story
from .layout import (PAPERS, NumberedCanvas, ReportDocument, book_context, deal_context, paragraph_styles,
                     register_fonts, text)
from .safe_text import generation_time

__all__ = ["PAPERS", "check_output_path", "write_report", "text"]


# --------------------------------------------------------------------------- entry point
@contextmanager
def _binary_streams():
    """Binary (not ASCII85) PDF streams while building: smaller files, and reportlab's
    pure-Python ASCII85 encoder was a third of the build time."""
    old = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = old


def check_output_path(path) -> Path:
    """The target as a Path; a PivotsimError unless it is a .pdf file in an existing folder."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise PivotsimError(f"output: {path!r} is not allowed; give a file name ending in .pdf")
    target = Path(path)
    if target.is_dir():
        raise PivotsimError(f"output: {str(target)!r} is a folder; give a file name ending in .pdf")
    if target.suffix.lower() != ".pdf":
        raise PivotsimError(f"output: {str(target)!r} is not allowed; the file name must end in .pdf")
    if not target.parent.is_dir():
        raise PivotsimError(f"output: folder {str(target.parent)!r} does not exist; create it first")
    return target


def write_report(result_or_results, path, *, paper: str = "a4", generated: dt.datetime | None = None,
                 sensitivity: bool = True) -> Path:
    """Write the PDF report of one run, or a book of several.

    Parameters
    ----------
    result_or_results : RunResult or sequence of RunResult
        One run gives a research note; several give a book with a comparison
        section first, then one chapter per deal.
    path : str or Path
        Target file, ending in ``.pdf``; its folder must exist.  Written to a
        temporary file and renamed, so a failure leaves no partial PDF.
    paper : {"a4", "letter"}
    generated : datetime, optional
        Generation time, printed on the title page and written as the PDF's
        creation date (default: now, UTC; ``SOURCE_DATE_EPOCH`` wins when
        set).  The bytes depend on nothing else but the runs.
    sensitivity : bool
        Include the cases and the sensitivity grids (more runs of the engine);
        the drivers are always shown (they read the run's own paths).

    Returns
    -------
    Path
        The written file.
    """
    results = [result_or_results] if isinstance(result_or_results, RunResult) else list(result_or_results)
    if not results or not all(isinstance(r, RunResult) for r in results):
        raise PivotsimError("report: expected a RunResult or a non-empty list of RunResults "
                            "(from pivotsim.run)")
    if not isinstance(paper, str) or paper.lower() not in PAPERS:
        raise PivotsimError(f"paper: {paper!r} is not allowed; must be one of {', '.join(PAPERS)}")
    target = check_output_path(path)
    generated = generation_time(generated)
    register_fonts()
    styles = paragraph_styles()
    datas = [note_data(r, analyses=sensitivity) for r in results]

    first = book_context(results) if len(results) > 1 else deal_context(results[0])
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        doc = ReportDocument(str(tmp), PAPERS[paper.lower()], first,
                             title=results[0].scenario.name if len(results) == 1
                             else f"Deal comparison: {len(results)} scenarios",
                             author=f"pivotsim {__version__}",
                             subject="Bitcoin mining or AI hosting on the same megawatts",
                             creator=f"pivotsim {__version__}")
        if len(results) == 1:
            story = chapter_story(datas[0], styles, doc.width, generated)
        else:
            shared = shared_market_paths(results)
            story = comparison_story(datas, styles, doc.width, generated)
            for i, data in enumerate(datas, start=1):
                story.append(PageBreak())
                story += chapter_story(data, styles, doc.width, generated, chapter=i, shared=shared)
            story += appendix_story(datas, shared, styles, doc.width)

        def canvas(*args, **kwargs):
            return NumberedCanvas(*args, generated=generated, **kwargs)

        with _binary_streams():
            doc.build(story, canvasmaker=canvas)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
