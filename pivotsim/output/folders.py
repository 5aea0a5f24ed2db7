"""Result folders: every run, sweep and sensitivity folder through one atomic writer.

A folder ``<out_dir>/<scenario file stem>[-<kind>]-<UTC timestamp>`` is built
under a temporary name and renamed when complete: an existing folder is never
overwritten, and a failure leaves nothing behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
import shutil
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from .._version import __version__
from .figure_data import figure_data
from .figure_worker import PendingFigures


def write_folder(out_dir: str | Path, scenario, kind: str | None,
                 files: Mapping[str, Callable[[Path], None]], manifest: dict) -> Path:
    """Write a result folder atomically and return its path.

    Parameters
    ----------
    out_dir : str or Path
        Parent folder (created if missing).
    scenario : Scenario or None
        Its file stem names the folder; its resolved YAML, file, SHA-256 and
        overrides go into the folder and ``manifest.json``.
    kind : str or None
        ``"sweep"``, ``"tornado"``...: part of the folder name and the
        manifest; None for a run folder.
    files : mapping of file name -> writer(path)
        Each writer writes its file at the path it is given.
    manifest : dict
        Further ``manifest.json`` entries.
    """
    out_dir = Path(out_dir)
    stem = Path(scenario.file).stem if scenario is not None and scenario.file else "scenario"
    if kind:
        stem = f"{stem}-{kind}"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{stem}-{stamp}.partial-{os.getpid()}"
    try:
        tmp.mkdir()
        for name, writer in files.items():
            writer(tmp / name)
        if scenario is not None:
            (tmp / "scenario.resolved.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
        info = {"pivotsim_version": __version__, **({"kind": kind} if kind else {}),
                "input_file": scenario.file if scenario is not None else None,
                "input_sha256": scenario.sha256 if scenario is not None else None,
                "overrides": list(scenario.overrides) if scenario is not None else [],
                "created_utc": stamp, **manifest}
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        return _rename_unique(tmp, out_dir, f"{stem}-{stamp}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _rename_unique(tmp: Path, out_dir: Path, name: str) -> Path:
    """Rename ``tmp`` to ``out_dir/name``, or ``name-2``, ``name-3``... when taken."""
    final = out_dir / name
    n = 2
    while True:
        try:
            tmp.rename(final)  # atomic on one file system; fails if final exists non-empty
            if not any(final.iterdir()):
                raise OSError("empty")
            return final
        except OSError:
            if tmp.exists() and final.exists():
                final = out_dir / f"{name}-{n}"
                n += 1
            else:
                raise


def _arrow_column(pa, values: np.ndarray):
    """A float64 or int64 column as an Arrow array over the same memory, NaN as null.

    Built from its buffers: ``pa.array`` would first ask pandas whether the
    values are a Series, importing it (a quarter of a second) for nothing.
    """
    if values.dtype.kind not in "fi":  # (none yet: every metric is a float, the path index an int)
        return pa.array(values)
    kind, dtype = (pa.float64(), np.float64) if values.dtype.kind == "f" else (pa.int64(), np.int64)
    values = np.ascontiguousarray(values, dtype=dtype)
    validity = None
    nulls = 0
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        nulls = int(missing.sum())
        if nulls:
            validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(values)], null_count=nulls)


def write_path_metrics(result, path: Path) -> None:
    """``path_metrics.parquet``: one row per path, written from the arrays.

    pyarrow wraps the float64 arrays without copying them (a DataFrame and
    its Arrow table would be two copies: 250 MB at 1M paths); NaN (no IRR,
    no payback) is stored as null, as pandas would.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = result.path_metric_columns()
    table = pa.Table.from_arrays([_arrow_column(pa, np.asarray(v)) for v in columns.values()], names=list(columns))
    pq.write_table(table, path)


def _csv_cell(value) -> str:
    """A value as pandas' ``to_csv`` writes it: floats by their shortest repr, NaN empty."""
    if isinstance(value, float):
        return "" if value != value else repr(value)
    return str(value)


def write_csv(columns: dict, path) -> None:
    """Write equal-length columns as ``pandas.DataFrame(columns).to_csv(path, index=False)`` would, without pandas."""
    names = list(columns)
    rows = zip(*(np.asarray(columns[n]).tolist() for n in names))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)


def write_run_folder(result, out_dir: str | Path = "runs", *, command: str | None = None,
                     figures: bool = True, xlsx: bool = False, figure_workers=()) -> Path:
    """Write a run's folder and return its path.

    The folder holds ``summary.json``, ``cashflows_base.csv``,
    ``path_metrics.parquet``, ``scenario.resolved.yaml``, ``manifest.json``
    and, with ``figures``, the PNG fan charts (BTC price, network hashrate,
    hashprice, cumulative cash of both businesses) and the NPV histogram and
    CDF (:mod:`pivotsim.output.figures`).

    Parameters
    ----------
    result : RunResult
    out_dir : str or Path
    command : str, optional
        The command line, for the manifest.
    figures : bool
    xlsx : bool
        Also write ``model.xlsx``, the model workbook (:mod:`pivotsim.output.excel`).
    figure_workers : sequence of FigureWorker
        Started helper processes that draw the figures while the other files
        are written (:func:`pivotsim.output.figure_worker.figure_workers`);
        none: they are drawn here.
    """
    # handed out first, written last: the workers draw while the other files are written
    pending = PendingFigures(figure_data(result), figure_workers) if figures else None
    files = {
        "summary.json": lambda p: p.write_text(result.to_json() + "\n", encoding="utf-8"),
        "cashflows_base.csv": lambda p: write_csv(result.cashflow_columns(), p),
        "path_metrics.parquet": lambda p: write_path_metrics(result, p),
    }
    if xlsx:
        from .excel import write_workbook  # XlsxWriter only when a workbook is asked for

        files["model.xlsx"] = lambda p: write_workbook(result, p)
    if pending is not None:
        files["."] = pending.write  # into the folder itself
    manifest = {"seed": result.seed, "paths": result.paths,
                "command": command or "pivotsim.run (Python API)",
                "python": platform.python_version(), "numpy": np.__version__,
                "execution": result.execution}
    return write_folder(out_dir, result.scenario, None, files, manifest)
