"""Checks of command-line options made before any simulation, so bad input costs nothing.

Every check raises a one-line :class:`~pivotsim.errors.PivotsimError` that
names the option as typed on the command line (``--seed``, ``--out``) and a
path as the user wrote it.  Output locations are probed: the folder that
would receive the output (or its nearest existing ancestor, for a folder to
be created) must be a folder in which this process can create a file (an
empty probe file is created and removed at once: permission bits, a
read-only mount or a pseudo file system such as ``/proc`` all show, also
for root, whom ``os.access`` would let through).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import PivotsimError

SEED_MAX = 2 ** 63 - 1
"""Largest seed: the seed layout spawns numpy SeedSequences from one signed 64-bit number."""

API_ARGUMENTS = {"paths": "--paths", "seed": "--seed", "threads": "--threads", "output": "--output",
                 "paper": "--paper", "samples": "--samples", "delta": "--delta", "quantiles": "--quantiles"}
"""Python API argument names in error messages -> the option the command line calls them."""


def option_message(message: str) -> str:
    """An API error message with its leading argument name spelled as the CLI option (``seed:`` -> ``--seed:``)."""
    name, sep, rest = message.partition(": ")
    if sep and name in API_ARGUMENTS:
        return f"{API_ARGUMENTS[name]}: {rest}"
    return message


def check_seed(seed: int, option: str = "--seed") -> int:
    """A seed in [0, 2**63 - 1], else a one-line error stating the range."""
    if not 0 <= seed <= SEED_MAX:
        raise PivotsimError(f"{option}: {seed} is not allowed; must be a whole number from 0 to "
                            f"{SEED_MAX:,} (2**63 - 1)")
    return seed


def _writable_folder(folder: Path) -> bool:
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        handle, probe = tempfile.mkstemp(prefix=".pivotsim-probe-", dir=folder)
    except OSError:
        return False
    os.close(handle)
    os.unlink(probe)
    return True


def check_output_folder(path: str | Path, option: str = "--out") -> None:
    """``path`` can hold a new result folder: an existing writable folder, or creatable under one.

    Raises
    ------
    PivotsimError
        ``path`` is a file, or it (or the folder it would be created in) is
        not writable or on a read-only file system.
    """
    given = str(path)
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise PivotsimError(f"{option}: {given} is a file; give a folder (created if missing)")
    probe = target
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise PivotsimError(f"{option}: {given} cannot be created: {probe} is a file")
    if not _writable_folder(probe):
        where = given if probe == target else f"{given} (in {probe})"
        raise PivotsimError(f"{option}: {where} is not writable; give a folder you can write to")


def check_output_file(path: str | Path, option: str, suffix: str | None = None) -> None:
    """``path`` can be written as a file: not a folder, in an existing writable folder, right suffix.

    Raises
    ------
    PivotsimError
        Wrong suffix, a folder, a missing or unwritable parent folder, or an
        existing file that cannot be replaced.
    """
    given = str(path)
    target = Path(path).expanduser()
    if suffix is not None and target.suffix.lower() != suffix:
        raise PivotsimError(f"{option}: {given} is not allowed; the file name must end in {suffix}")
    if target.is_dir():
        raise PivotsimError(f"{option}: {given} is a folder; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise PivotsimError(f"{option}: folder {parent} does not exist; create it first")
    if not _writable_folder(parent) or (target.exists() and not os.access(target, os.W_OK)):
        raise PivotsimError(f"{option}: {given} is not writable; give a file in a folder you can write to")
