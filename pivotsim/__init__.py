"""pivotsim: bitcoin mining or AI hosting on the same megawatts?

Public API::

    import pivotsim
    scenario = pivotsim.load_scenario("scenarios/iren.yaml")
    result = pivotsim.run(scenario, paths=10_000, seed=2025)
    result.summary(); result.cashflows(); result.path_metrics()
    table = pivotsim.compare(["scenarios/iren.yaml", "scenarios/cipher_aws.yaml"])  # DataFrame
"""

__version__ = "0.1.0"

from .errors import PivotsimError, ScenarioError  # noqa: E402
from .scenario import Scenario, load_scenario  # noqa: E402
from .api import RunResult, run  # noqa: E402
from .analysis.compare import compare  # noqa: E402
from .analysis.sources import provenance_table as sources  # noqa: E402

__all__ = ["__version__", "load_scenario", "run", "compare", "sources", "RunResult", "Scenario",
           "PivotsimError", "ScenarioError"]
