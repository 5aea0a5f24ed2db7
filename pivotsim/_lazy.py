"""Re-exports imported on first use (PEP 562), for the packages whose names are public API.

``import pivotsim`` and the CLI's light commands then load no numerical
library until a name that needs one is used.
"""

from __future__ import annotations

import sys
from importlib import import_module


def lazy_exports(package: str, exports: dict[str, tuple[str, str]]):
    """The ``__getattr__`` and ``__dir__`` of a package re-exporting ``name -> (submodule, attribute)``."""

    def __getattr__(name: str):
        try:
            module, attr = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(import_module(f".{module}", package), attr)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
