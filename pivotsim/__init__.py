"""pivotsim: bitcoin mining or AI hosting on the same megawatts?

Public API::

    import pivotsim
    scenario = pivotsim.load_scenario("scenarios/iren.yaml")
    result = pivotsim.run(scenario, paths=10_000, seed=2025)
    result.summary(); result.cashflows(); result.path_metrics()
    table = pivotsim.compare(["scenarios/iren.yaml", "scenarios/cipher_aws.yaml"])  # DataFrame
    pivotsim.report(result, "iren.pdf")        # the PDF research note
    fitted = pivotsim.calibrate("../shared/data/btc/btc_network_daily_coinmetrics.csv",
                                "2016-01-01", "2022-12-31")   # market parameters
"""

__version__ = "0.1.0"

from .errors import PivotsimError, ScenarioError  # noqa: E402
from .scenario import Scenario, load_scenario  # noqa: E402
# Import the report package before binding the name ``report`` to the
# function: importing a submodule later (pivotsim.report.pdf) then leaves the
# function in place instead of the package.
from . import report as _report_package  # noqa: E402,F401
from .api import RunResult, report, run  # noqa: E402
from .analysis.compare import compare  # noqa: E402
from .analysis.sources import provenance_table as sources  # noqa: E402
from .calibration import Calibration, calibrate  # noqa: E402
# --- sensitivity: sweeps, tornado/Sobol/Morris, break-even, and their figures
from .analysis.breakeven import breakeven  # noqa: E402
from .analysis.global_indices import sensitivity  # noqa: E402
from .analysis.sweep import sweep  # noqa: E402
from .output.sensitivity_figures import plot_spider, plot_sweep, plot_tornado  # noqa: E402

__all__ = ["__version__", "load_scenario", "run", "compare", "sources", "report", "calibrate", "RunResult",
           "Scenario", "Calibration", "PivotsimError", "ScenarioError",
           "sweep", "sensitivity", "breakeven", "plot_sweep", "plot_tornado", "plot_spider"]
