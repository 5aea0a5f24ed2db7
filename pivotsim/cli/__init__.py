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

__all__ = ["app"]
