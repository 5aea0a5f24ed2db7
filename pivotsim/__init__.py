"""pivotsim: bitcoin mining or AI hosting on the same megawatts?

Public API::

    import pivotsim
    scenario = pivotsim.load_scenario("iren.yaml")
    result = pivotsim.run(scenario, paths=10_000, seed=2025)
    result.summary(); result.cashflows(); result.path_metrics()
    pivotsim.write_run(result, "runs")          # the run folder (summary, tables, figures)
    table = pivotsim.compare(["iren.yaml", "cipher_aws.yaml"])  # DataFrame
    pivotsim.report(result, "iren.pdf")        # the PDF research note
    timing = pivotsim.timing("iren_timing.yaml", paths=20_000)   # keep mining or convert, when
    timing.summary(); timing.to_frame(); pivotsim.write_timing(timing, scenario, "runs")
    fitted = pivotsim.calibrate("../shared/data/btc/btc_network_daily_coinmetrics.csv",
                                "2016-01-01", "2022-12-31")   # market parameters

This module only re-exports; the layers are described in the README
("For developers").
"""

from ._lazy import lazy_exports
from ._version import __version__
from .errors import PivotsimError, ScenarioError

# Everything else is imported on first use (PEP 562), so that `import pivotsim`
# and the CLI's light commands do not load numpy's heavy neighbours.
_EXPORTS = {
    "Scenario": ("scenario", "Scenario"),
    "load_scenario": ("scenario", "load_scenario"),
    "RunResult": ("runs", "RunResult"),
    "run": ("runs", "run"),
    "compare": ("analysis.compare", "compare"),
    "sources": ("scenario.provenance", "provenance_table"),
    "Calibration": ("calibration", "Calibration"),
    "calibrate": ("calibration", "calibrate"),
    "sweep": ("analysis.sweep", "sweep"),
    "sensitivity": ("analysis.global_indices", "sensitivity"),
    "breakeven": ("analysis.breakeven", "breakeven"),
    "timing": ("analysis.timing", "timing"),
    "TimingResult": ("analysis.timing", "TimingResult"),
    "write_timing": ("output.timing", "write_timing_folder"),
    "write_run": ("output.folders", "write_run_folder"),
    "report": ("output.pdf", "write_report"),
    "plot_sweep": ("output.sensitivity_figures", "plot_sweep"),
    "plot_tornado": ("output.sensitivity_figures", "plot_tornado"),
    "plot_spider": ("output.sensitivity_figures", "plot_spider"),
}

__all__ = ["__version__", "PivotsimError", "ScenarioError", *_EXPORTS]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
