"""The version of pivotsim (its own module, so that no module imports the package top)."""

__version__ = "0.1.0"
