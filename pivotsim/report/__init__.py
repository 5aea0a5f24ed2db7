"""Reports of runs: charts (:mod:`.charts`) and the PDF (:mod:`.pdf`).

Kept import-light on purpose: ``pivotsim.report`` the *function* (see
:func:`pivotsim.api.report`) shadows this package's name on the top-level
module, and loading reportlab waits until a PDF is written.

Figures of a run (matplotlib, ``plot_x(result, ax=None) -> Axes``) are in :mod:`.figures`;
figures of sensitivity analyses in :mod:`.sensitivity_figures`.
"""
