"""Sections shown only when a run carries their data (pivotsim.output.extra_sections): never empty, never invented."""

from types import SimpleNamespace

from reportlab.platypus import Paragraph

from pivotsim.output import extra_sections, layout


def _data(summary, **extras):
    layout.register_fonts()
    return SimpleNamespace(summary=summary, extras=extras, result=SimpleNamespace(metrics={}, paths=1))


def _texts(flowables) -> str:
    out = []
    for f in flowables:
        for part in getattr(f, "_content", [f]):
            if isinstance(part, Paragraph):
                out.append(part.getPlainText())
            cells = getattr(part, "_cellvalues", None)
            if cells:
                out += [c.getPlainText() for row in cells for c in row if isinstance(c, Paragraph)]
    return " | ".join(out)


BASE = {"bitcoin": {"base": {}}, "ai": {"base": {}}}


def test_nothing_without_the_data():
    data = _data(BASE)
    styles = layout.paragraph_styles()
    for section in extra_sections.EXTRA_SECTIONS:
        assert section(data, styles, 400) == [], section.__name__


def test_market_at_the_valuation_date(monkeypatch):
    summary = dict(BASE, market={"at_valuation": {
        "state_date": "2025-09-26", "state_days_before_valuation": 36,
        "btc_price_usd": {"p5": 80_000.0, "p50": 108_000.0, "p95": 140_000.0, "base": 109_900.0},
        "block_height": {"p5": 921_000.0, "p50": 921_700.0, "p95": 922_400.0, "base": 921_700.0},
        "next_halving": {"expected": "2028-04-10", "p5": "2028-03-01", "p95": "2028-05-20"}}})
    text = _texts(extra_sections.market_now_section(_data(summary), layout.paragraph_styles(), 400))
    assert "The market at the valuation date" in text
    assert "BTC price | $109,900 | $80,000 | $108,000 | $140,000" in text
    assert "Next halving (date) | 2028-04-10 | 2028-03-01" in text
    assert "36 days before the valuation date" in text
    no_gap = dict(BASE, market={"at_valuation": {"state_days_before_valuation": 0}})
    assert extra_sections.market_now_section(_data(no_gap), layout.paragraph_styles(), 400) == []


def test_value_bridge_parts_add_to_the_npv(monkeypatch):
    drawn = {}

    def fake_chart(draw, width, height, styles, caption, **kw):
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 1)
        draw(axes)
        drawn["bars"] = [p.get_height() for p in axes[1].patches]
        plt.close(fig)
        return Paragraph(caption, styles["caption"])

    monkeypatch.setattr(extra_sections, "chart", fake_chart)
    bridge = {"operations_usd": -1.0e9, "prepayment_financing_usd": 0.6e9, "terminal_value_usd": 0.6e9,
              "financing_usd": 0.0}
    summary = {"bitcoin": {"base": {"value_bridge": {"operations_usd": -1e8, "prepayment_financing_usd": 0.0,
                                                     "terminal_value_usd": 5e7, "financing_usd": 0.0}}},
               "ai": {"base": {"value_bridge": bridge},
                      "monte_carlo": {"value_bridge_mean": bridge}}}
    text = _texts(extra_sections.value_bridge_section(_data(summary), layout.paragraph_styles(), 400))
    assert "operations -$1.00B" in text
    # the last bar is the total: the sum of the parts (0.2B)
    assert drawn["bars"][-1] == sum(bridge.values())
