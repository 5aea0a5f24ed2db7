"""The one exception family pivotsim raises for bad input.

The CLI prints any :class:`PivotsimError` as one line on stderr and exits
with code 2; the Python API lets it propagate.
"""

from __future__ import annotations


class PivotsimError(ValueError):
    """Base class: a problem with the user's input, stated in one line."""


class ScenarioError(PivotsimError):
    """A scenario file or override that cannot be used.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str, optional
        The scenario file.
    path : str, optional
        Dotted path of the offending field, e.g. ``ai.term_months``.
    line : int, optional
        1-based line in the file where the field is written.
    """

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None,
                 line: int | None = None):
        self.file = file
        self.path = path
        self.line = line
        self.message = message
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        field = f"{path}: " if path else ""
        super().__init__(f"{where}{field}{message}")


class ClusterError(PivotsimError):
    """A Dask cluster that cannot be used: unreachable scheduler, no workers, lost tasks.

    Stated in one line like any :class:`PivotsimError`, so the CLI exits
    with code 2 instead of hanging or printing a traceback.
    """
