"""The deal library: scenario files shipped inside the package, and how a name finds a file.

``pivotsim run iren.yaml`` (or ``pivotsim run iren``) works from any folder:
a name is looked up first as a file on disk, as the user wrote it, then in
the library bundled with pivotsim (``pivotsim/scenarios/``), by file name or
by stem.  :func:`find_scenario` says which it used, so the CLI can tell the
user.  The repository's old spelling ``scenarios/iren.yaml`` resolves to
the bundled file too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError

LIBRARY_DIR = Path(__file__).resolve().parents[1] / "scenarios"
"""The bundled deal library (package data)."""

TEMPLATE = "template.yaml"
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Found:
    """A scenario file found for a name: where, and whether it came from the bundled library."""

    path: Path
    bundled: bool
    name: str

    @property
    def note(self) -> str:
        """One line for the terminal: which file a name resolved to."""
        if self.bundled:
            return f"{self.name}: no such file here; using the bundled library's {self.path.name}"
        return ""


def library_files(include_template: bool = False) -> list[Path]:
    """The bundled scenario files, sorted by name (the template last, when included)."""
    files = sorted(p for p in LIBRARY_DIR.glob("*.yaml") if p.name != TEMPLATE)
    if include_template and (LIBRARY_DIR / TEMPLATE).is_file():
        files.append(LIBRARY_DIR / TEMPLATE)
    return files


def _library_candidate(name: str) -> Path | None:
    given = Path(name)
    if given.parent not in (Path("."), Path("scenarios")):
        return None  # a path with folders means that file, not a library deal
    stem = given.name
    for candidate in (stem, *(stem + s for s in _SUFFIXES if not stem.endswith(_SUFFIXES))):
        path = LIBRARY_DIR / candidate
        if path.is_file():
            return path
    return None


def find_scenario(name: str | Path) -> Found:
    """The scenario file a name means: a file on disk first, then the bundled library.

    Parameters
    ----------
    name : str or Path
        A path (``deals/x.yaml``), a library file name (``iren.yaml``) or
        stem (``iren``).

    Returns
    -------
    Found
        The path to read and whether it is the bundled copy.

    Raises
    ------
    ScenarioError
        No such file and no library deal of that name; the message lists the
        library's stems.
    """
    text = str(name)
    if Path(text).exists():
        return Found(Path(text), False, text)
    bundled = _library_candidate(text)
    if bundled is not None:
        return Found(bundled, True, text)
    stems = ", ".join(p.stem for p in library_files())
    raise ScenarioError(f"file not found (bundled deals: {stems}; `pivotsim scenarios` lists them)", file=text)


def key_terms(scenario) -> dict:
    """A library deal's headline terms, as written in its file (no valuation).

    Returns
    -------
    dict
        ``deal`` (scenario name), ``kind`` (``gpu_cloud`` / ``colocation``),
        ``grid_mw`` and ``critical_it_mw`` [MW], ``term_years`` [years],
        ``contract_value_usd`` (None if the deal states a rent instead),
        ``rent_usd_per_kw_month`` (colocation deals that state one),
        ``prepayment_share`` [-].
    """
    ai = scenario.ai
    grid = scenario.site.grid_power_mw.value

    def value(name):
        q = getattr(ai, name, None)
        return None if q is None else q.value

    return {"deal": scenario.name, "kind": ai.kind, "grid_mw": grid, "critical_it_mw": grid / ai.pue.value,
            "term_years": ai.term_months.value / 12, "contract_value_usd": value("contract_value_usd"),
            "rent_usd_per_kw_month": value("rent_usd_per_kw_month"),
            "annual_revenue_usd": value("annual_revenue_usd"),
            "prepayment_share": ai.prepayment_share.value}


def write_copy(target: str | Path, source: str = TEMPLATE.removesuffix(".yaml")) -> Path:
    """Copy a bundled scenario (default: the commented template) to a new file to edit.

    Parameters
    ----------
    target : str or Path
        The new file; it must not exist, its folder must.
    source : str
        Library file name or stem (``iren``, ``cipher_aws.yaml``, ``template``).

    Returns
    -------
    Path
        The library file copied.

    Raises
    ------
    ScenarioError
        Unknown library deal, the target exists, or it cannot be written.
    """
    bundled = _library_candidate(source)
    if bundled is None:
        stems = ", ".join(p.stem for p in library_files(include_template=True))
        raise ScenarioError(f"--from: {source!r} is not a bundled deal; choose one of {stems}")
    out = Path(target)
    if out.exists():
        raise ScenarioError("already exists; give a new file name (pivotsim init never overwrites)",
                            file=str(target))
    if not out.parent.is_dir():
        raise ScenarioError(f"folder {out.parent} does not exist", file=str(target))
    try:
        with out.open("xb") as handle:
            handle.write(bundled.read_bytes())
    except OSError as exc:
        raise ScenarioError(f"cannot be written ({exc.strerror or exc})", file=str(target)) from None
    return bundled


def cited_file(file: str | None, scenario_file: str | None) -> str | None:
    """A source's ``file`` if it can be found, else None: the citation then stands on its own.

    Source texts live outside the package (``../shared/sources/...``, as the
    project checkout lays them out); a bundled deal run from another folder
    or from a wheel has no such file.  The file is looked for as written
    (from the current folder) and next to the scenario file and its two
    parent folders.
    """
    if not file:
        return None
    candidates = [Path(file)]
    if scenario_file:
        base = Path(scenario_file).resolve().parent
        candidates += [base / file, base.parent / file, base.parent.parent / file]
    return file if any(c.is_file() for c in candidates) else None
