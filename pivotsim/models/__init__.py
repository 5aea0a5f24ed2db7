"""The economics of pivotsim: pure, vectorised functions, arrays in and arrays out.

Every model array is shaped ``(n_paths, n_periods)``: axis 0 is paths, the
last axis is time, column 0 is the valuation date and column m the end of
month m.
"""
