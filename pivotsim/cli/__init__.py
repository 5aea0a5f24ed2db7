"""Command line: ``pivotsim run | report | validate | schema | sources | claims | compare | calibrate | sweep |
sensitivity | breakeven | timing | export | data | hashprice``.

A thin shell over the Python API: parse options, call the API, print.  Bad
input (any :class:`~pivotsim.errors.PivotsimError`) is one line on stderr and
exit code 2, never a traceback.  One module per group of commands; each
registers its commands on :data:`app`.
"""

from . import (  # noqa: F401  (register)
    compare_commands,
    data_commands,
    export_commands,
    library_commands,
    run_commands,
    scenario_commands,
    sensitivity_commands,
    timing_commands,
)
from .app import app

__all__ = ["app", "main"]


def main() -> None:
    """The ``pivotsim`` command (and ``python -m pivotsim``): :data:`app`, then out at once.

    Once a command has finished (its files are written and closed, its output
    printed) the process leaves without the interpreter's teardown, which
    frees every module and compiled kernel one by one: 0.3-0.45 s of a warm
    ``pivotsim run`` (measured), for nothing.  The exit handlers still run
    first (figure workers and the background compile are stopped, a Dask
    client is closed) and the standard streams are flushed.  A crash is
    left to Python, traceback and all; in-process callers (``CliRunner``,
    notebooks) use :data:`app` and keep the normal exit.
    """
    try:
        app(prog_name="pivotsim")
        code = 0
    except SystemExit as stop:
        code = stop.code
    _leave(code)


def _leave(code) -> None:
    """Exit with ``code`` (as ``sys.exit`` reads it) after the exit handlers, without the interpreter's teardown."""
    import atexit
    import os
    import sys

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head) or stream: nothing more to say
            pass
    os._exit(code)
