"""The run folder's tables are written without pandas: the same bytes as pandas and pyarrow's own writers."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pivotsim
from pivotsim.output.folders import write_csv, write_path_metrics

from .conftest import SCENARIOS


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_cashflows_csv_is_pandas_to_csv(name, tmp_path):
    # Every library scenario (line items that one business lacks, debt schedules, NaN DSCRs, dates).
    result = pivotsim.run(SCENARIOS / name, paths=200, seed=3)
    write_csv(result.cashflow_columns(), tmp_path / "ours.csv")
    result.cashflows().to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_csv_cells_as_pandas_writes_them(tmp_path):
    columns = {"x": np.array([0.1 + 0.2, -0.0, 1e-300, 3.6e9 + 5e-7, np.nan, 1e16, -2.5]),
               "n": np.arange(7), "s": np.array(["a", "b,c", 'd"e', "", "f", "g", "h"], dtype=object)}
    write_csv(columns, tmp_path / "ours.csv")
    pd.DataFrame(columns).to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_path_metrics_parquet_is_pyarrows_table(iren, tmp_path):
    # Built from the arrays' buffers: the same table as pa.array with NaN masked (nulls where no IRR).
    result = pivotsim.run(iren, paths=500, seed=3)
    write_path_metrics(result, tmp_path / "ours.parquet")
    columns = result.path_metric_columns()
    expected = pa.table({name: pa.array(v, mask=np.isnan(v) if v.dtype.kind == "f" and np.isnan(v).any() else None)
                         for name, v in columns.items()})
    ours = pq.read_table(tmp_path / "ours.parquet")
    assert ours.equals(expected)
    breach = columns["ai_first_breach_month"]  # NaN on the paths that never breach the covenant
    assert 0 < ours.column("ai_first_breach_month").null_count == int(np.isnan(breach).sum()) < len(breach)
