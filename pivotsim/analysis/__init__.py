"""Analyses on top of the engine: the comparison of deals (:mod:`.compare`), the source claims
checked against the model (:mod:`.claims`), sensitivity (:mod:`.metrics`, :mod:`.crn`, :mod:`.sweep`,
:mod:`.tornado`, :mod:`.global_indices`) and break-even solving (:mod:`.breakeven`).

Library code here returns DataFrames, dicts and result objects; only ``pivotsim.cli`` prints and only
``pivotsim.output`` draws or writes.
"""
