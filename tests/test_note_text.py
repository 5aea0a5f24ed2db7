"""Labels and metadata of the note: human input labels, `$`-safe matplotlib text, PDF dates."""

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from pivotsim.scenario.labels import input_label, input_labels  # noqa: E402
from pivotsim.output.safe_text import generation_time, mpl_text, stamp_pdf_time  # noqa: E402
from pivotsim.scenario import iter_quantities, load_scenario  # noqa: E402
from pivotsim.output.scenario_table import assumption_rows  # noqa: E402
from pivotsim.uncertainty import uncertain_inputs  # noqa: E402

LIBRARY = ["iren", "iren_mining", "cipher_aws", "cipher_fluidstack", "core_scientific_coreweave",
           "galaxy_coreweave", "terawulf_fluidstack", "template"]


@pytest.mark.parametrize("name", LIBRARY)
def test_every_input_of_every_library_scenario_has_a_human_label(name):
    scenario = load_scenario(f"scenarios/{name}.yaml")
    paths = [p for p, _ in iter_quantities(scenario)] + list(uncertain_inputs(scenario))
    paths += [row.path for row in assumption_rows(scenario)
              if not row.path.startswith(("cases.", "correlations"))]  # switches too (the assumptions table)
    for path, label in input_labels(paths, scenario).items():
        assert "." not in label and "_" not in label, (path, label)
        assert label[0].isupper(), (path, label)


def test_labels_read_as_an_analyst_writes_them():
    assert input_label("market.btc_price_usd") == "BTC price at the valuation date"
    assert input_label("ai.phases.1.online_month") == "Tranche 2: go-live month"
    assert input_label("ai.risks.construction_delay_months") == "Construction delay"
    # no short label: the field name in words, units dropped
    assert input_label("ai.some_new_capex_usd") == "Some new capex"


def test_label_from_the_schema_description():
    scenario = load_scenario("scenarios/iren.yaml")
    # site.grid_power_mw's description is "grid power available to the site [MW]"
    from pivotsim.scenario import labels as labels_module

    saved = labels_module.LABELS.pop("site.grid_power_mw")
    try:
        assert input_label("site.grid_power_mw", scenario) == "Grid power available to the site"
    finally:
        labels_module.LABELS["site.grid_power_mw"] = saved


def _rendered_text(label: str) -> str:
    fig, ax = plt.subplots()
    text = ax.set_title(label)
    fig.canvas.draw()
    parsed = text._preprocess_math(text.get_text())
    plt.close(fig)
    return parsed


def test_money_in_matplotlib_labels_is_not_mathtext():
    raw = "$7.76B → $11.64B"
    # origin: matplotlib.text.Text._preprocess_math says whether a string goes to mathtext
    assert _rendered_text(raw)[1] is True            # the bug: read as math
    safe = mpl_text(raw)
    assert safe == r"\$7.76B → \$11.64B"
    assert _rendered_text(safe) == ("$7.76B → $11.64B", False)
    assert mpl_text(safe) == safe                    # idempotent


def test_generation_time_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764590400")   # 2025-12-01 12:00 UTC
    assert generation_time() == dt.datetime(2025, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH: 'soon'"):
        generation_time()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    now = dt.datetime(2026, 12, 3, 10, 53, 17, 123, tzinfo=dt.timezone.utc)
    assert generation_time(now) == now.replace(microsecond=0)


def test_pdf_dates_are_the_generation_time():
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, invariant=1)
    stamp_pdf_time(canvas, dt.datetime(2026, 12, 3, 10, 53, 0, tzinfo=dt.timezone.utc))
    canvas.drawString(100, 100, "x")
    canvas.save()
    meta = PdfReader(io.BytesIO(buf.getvalue())).metadata
    assert meta["/CreationDate"].startswith("D:20261203105300")
    assert meta["/ModDate"].startswith("D:20261203105300")
