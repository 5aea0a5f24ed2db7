"""Defaults a run starts from, in a module without imports (the CLI's options read them at start-up)."""

DEFAULT_PATHS = 10_000
"""Monte Carlo paths of ``pivotsim run`` and :func:`pivotsim.run`."""

DEFAULT_SEED = 2025
"""Seed of every command (same scenario, same seed: the same numbers)."""

DEFAULT_MAX_AUTO_PATHS = 1_000_000
"""Cap on paths of ``--paths auto``."""

DEFAULT_TIMING_PATHS = 20_000
"""Paths of ``pivotsim timing`` (the switching option by least squares)."""
