"""Fit the market model on real bitcoin network data, and back-test it.

``calibrate(data_file, start, end)`` fits, on the window ``start..end``:

* **BTC price** (monthly month-end log returns r): the annualised mean and
  volatility of r; Merton jumps (intensity, mean and sd of log jump size)
  from *daily* log returns, where jumps are visible: days beyond 4 robust sd
  are jumps (threshold estimator; a likelihood-ratio test against a plain
  normal is reported); the diffusion
  volatility is then what the monthly variance leaves after the jumps,
  ``sigma^2 = var_year(r) - lambda (m_J^2 + s_J^2)``, and the drift mu is set
  so that E[S_t] = S_0 exp(mu t) matches the window's mean log return:
  ``mu = mean_year(r) + sigma^2/2 + lambda (k - m_J)`` with
  ``k = exp(m_J + s_J^2/2) - 1``.
* **Efficiency frontier**: the best J/TH on sale at each release date in
  ``../shared/data/btc`` ASIC tables (CBECI to May 2020, then the Ceccon
  catalogue by release year), released no later than ``end``; log J/TH is
  regressed on time, giving the yearly decline d.  The marginal miner runs
  ``marginal_to_frontier`` times the frontier's J/TH at a power price c
  (conventions: they only move the intercept a).
* **Hashrate response**: ``dlog H_m = a + b x_{m-L} + e_m`` by least squares
  on month-end data, x the log margin of the marginal miner (see
  :mod:`pivotsim.models.market`); L in 1..6 is the lag with the best fit on a
  common sample.  The noise sd (annualised) removes the measurement noise of
  two-week hashrate means (variance 2/2016 per monthly difference).
* **Fees**: log fees per block [BTC] as an AR(1) with spikes: months whose
  residual exceeds 2.5 robust sd are spikes (their probability and mean
  size), the AR(1) is refitted on the other months, giving the reversion
  speed, long-run level and volatility.

The state at the end of the window (price, difficulty, two-week hashrate,
block height, 30-day fees) is the model's t = 0, the next day.

``backtest_market`` calibrates on one window, simulates the following
months from the real state, and scores the bands against what happened.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from . import btc_data
from .errors import PivotsimError
from .models.market import hashprice_usd_per_ph_day, hashrate_from_difficulty_eh_s
from .models.timeline import subsidy_btc

DEFAULT_MARGINAL_POWER_USD_PER_KWH = 0.06
DEFAULT_MARGINAL_TO_FRONTIER = 2.0
DIFFICULTY_LAG_DAYS = 14.0
MAX_LAG_MONTHS = 6
SPIKE_THRESHOLD_SD = 2.5
JUMP_THRESHOLD_SD = 4.0
DAYS_PER_YEAR = 365.25


@dataclass
class Calibration:
    """Market parameters fitted on a window of real data (see module docstring).

    Every field named like a ``market:`` scenario field holds that field's
    value; :meth:`market_block` and :meth:`to_yaml` give the block to paste.
    """

    data_file: str
    start: dt.date
    end: dt.date
    months: int
    # state at the end of the window (t = 0 is the next day)
    btc_price_usd: float
    difficulty: float
    network_hashrate_eh_s: float
    block_height: int
    fees_btc_per_block: float
    hashprice_usd_per_ph_day: float
    # BTC price
    monthly_log_return_mean_per_year: float
    monthly_log_return_volatility_per_year: float
    btc_drift_per_year: float
    btc_volatility_per_year: float
    btc_jump_intensity_per_year: float
    btc_jump_mean_log: float
    btc_jump_volatility_log: float
    jump_likelihood_ratio: float
    jump_p_value: float
    # efficiency frontier and hashrate response
    efficiency_frontier_decline_per_year: float
    frontier_efficiency_j_per_th: float
    marginal_miner_efficiency_j_per_th: float
    marginal_miner_power_usd_per_kwh: float
    marginal_to_frontier: float
    hashrate_response_intercept_per_month: float
    hashrate_response_slope_per_month: float
    hashrate_response_lag_months: int
    hashrate_volatility_per_year: float
    hashrate_response_r_squared: float
    hashrate_response_slope_se: float
    lag_r_squared: dict = field(default_factory=dict)
    difficulty_lag_days: float = DIFFICULTY_LAG_DAYS
    # fees
    fee_share_of_subsidy_median: float = math.nan
    fee_long_run_btc_per_block: float = math.nan
    fee_mean_reversion_per_year: float = 0.0
    fee_volatility_per_year: float = 0.0
    fee_spike_probability_per_month: float = 0.0
    fee_spike_mean_log: float = 0.0
    #: first day of the window the fee process is fitted on (None: ``start``)
    fee_start: dt.date | None = None

    @property
    def valuation_date(self) -> dt.date:
        """The model's t = 0: the day after the window."""
        return self.end + dt.timedelta(days=1)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["valuation_date"] = self.valuation_date
        return out

    def market_block(self, price_model: str = "merton") -> dict:
        """The ``market:`` block of a scenario, every number with its provenance."""
        window = f"{self.start}..{self.end}"
        fee_window = f"{self.fee_start or self.start}..{self.end}"

        def cm(value, note):
            return {"value": _round(value), "source": "CM", "note": note}

        def assume(value, why):
            return {"value": _round(value), "assumption": why}

        block = {
            "state_date": self.end,
            "btc_price_usd": cm(self.btc_price_usd, f"close of {self.end}"),
            "btc_drift_per_year": cm(self.btc_drift_per_year,
                                     f"E[S_t] = S_0 exp(mu t) matched to the mean monthly log return "
                                     f"{self.monthly_log_return_mean_per_year:.3f}/yr over {window}; "
                                     "history, not a forecast"),
            "btc_volatility_per_year": cm(
                self.btc_volatility_per_year if price_model == "merton"
                else self.monthly_log_return_volatility_per_year,
                (f"diffusion part: monthly log-return volatility {self.monthly_log_return_volatility_per_year:.3f}"
                 f"/yr over {window} less the jump variance") if price_model == "merton"
                else f"volatility of monthly log returns over {window}"),
            "price_model": price_model,
        }
        if price_model == "merton":
            block.update({
                "btc_jump_intensity_per_year": cm(
                    self.btc_jump_intensity_per_year,
                    f"days beyond {JUMP_THRESHOLD_SD:g} robust sd per year, daily log returns {window}; "
                    f"LR vs normal {self.jump_likelihood_ratio:.0f} (p = {self.jump_p_value:.1g})"),
                "btc_jump_mean_log": cm(self.btc_jump_mean_log, f"mean daily log return of those days, {window}"),
                "btc_jump_volatility_log": cm(self.btc_jump_volatility_log,
                                              f"sd of daily log return of those days, {window}"),
            })
        block.update({
            "difficulty": cm(self.difficulty, f"mean difficulty on {self.end}"),
            "block_height": cm(self.block_height, f"blocks counted from the last halving in the data to {self.end}"),
            "fees_btc_per_block": cm(self.fees_btc_per_block, f"fees / blocks over the 30 days to {self.end}"),
            "hashrate_model": "response",
            "hashrate_response_intercept_per_month": cm(
                self.hashrate_response_intercept_per_month,
                f"OLS of monthly dlog H on lagged log margin, {window} ({self.months} months), "
                f"R2 = {self.hashrate_response_r_squared:.2f}"),
            "hashrate_response_slope_per_month": cm(
                self.hashrate_response_slope_per_month,
                f"OLS slope, s.e. {self.hashrate_response_slope_se:.3f}, {window}"),
            "hashrate_response_lag_months": cm(
                self.hashrate_response_lag_months,
                "best fit among lags 1-6 months: R2 " + ", ".join(f"{k}: {v:.3f}"
                                                                  for k, v in self.lag_r_squared.items())),
            "hashrate_volatility_per_year": cm(
                self.hashrate_volatility_per_year,
                "residual sd of the regression x sqrt(12), less two-week measurement noise"),
            "marginal_miner_efficiency_j_per_th": assume(
                self.marginal_miner_efficiency_j_per_th,
                f"{self.marginal_to_frontier:g} x the frontier ASIC ({self.frontier_efficiency_j_per_th:.1f} J/TH "
                f"fitted at {self.valuation_date} on CBECI/Ceccon release data)"),
            "efficiency_frontier_decline_per_year": {
                "value": _round(self.efficiency_frontier_decline_per_year), "source": "ASIC",
                "note": f"log J/TH of the best ASIC on sale regressed on release date, {self.start.year}-{self.end}"},
            "marginal_miner_power_usd_per_kwh": assume(
                self.marginal_miner_power_usd_per_kwh,
                "power price of the marginal miner; with the efficiency multiple it only moves the intercept"),
            "difficulty_lag_days": assume(
                self.difficulty_lag_days,
                "retargets every 2016 blocks (~14 days) on the previous window's block times"),
            "fee_long_run_btc_per_block": cm(self.fee_long_run_btc_per_block,
                                             f"AR(1) of monthly log fees per block, {fee_window}, spikes removed"),
            "fee_mean_reversion_per_year": cm(self.fee_mean_reversion_per_year, f"AR(1) persistence, {fee_window}"),
            "fee_volatility_per_year": cm(self.fee_volatility_per_year, f"AR(1) residual sd, {fee_window}"),
            "fee_spike_probability_per_month": cm(
                self.fee_spike_probability_per_month,
                f"share of months with an AR(1) residual above {SPIKE_THRESHOLD_SD} robust sd, {fee_window}; "
                f"median fee share of subsidy {self.fee_share_of_subsidy_median:.1%}"),
            "fee_spike_mean_log": cm(self.fee_spike_mean_log, f"mean residual of those months, {fee_window}"),
        })
        return block

    def to_yaml(self, price_model: str = "merton") -> str:
        """The ``market:`` block as YAML, with a comment saying what was fitted on which data."""
        head = (f"# pivotsim calibrate: fitted on {self.data_file}, {self.start}..{self.end} "
                f"({self.months} months); t = 0 is {self.valuation_date}\n"
                "# cites sources CM (the daily network data) and ASIC (the ASIC tables next to it):\n"
                "# define both in the scenario's `sources` (see pivotsim/scenarios/iren.yaml)\n")
        return head + yaml.safe_dump({"market": self.market_block(price_model)}, sort_keys=False,
                                     allow_unicode=True, width=120)

    def market_inputs(self, price_model: str = "merton") -> SimpleNamespace:
        """The fitted ``market`` as plain values (what the models read)."""
        from .scenario.schema import Market
        from .scenario import Quantity

        # the fitted state is the close of `end`, i.e. t = 0 of the day after: no gap to roll forward here
        values = {k: (v["value"] if isinstance(v, dict) else v) for k, v in self.market_block(price_model).items()
                  if k != "state_date"}
        market = Market.model_validate(values)
        return SimpleNamespace(**{n: (getattr(market, n).value if isinstance(getattr(market, n), Quantity)
                                      else getattr(market, n)) for n in type(market).model_fields})


def _round(x):
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return float(f"{x:.6g}")


# --------------------------------------------------------------------------- price

def _merton_loglik(r, mu, sigma, lam, m_j, s_j, max_jumps=10):
    """Log likelihood of daily returns under Merton (Poisson mixture of normals), per-day parameters."""
    n = np.arange(max_jumps + 1)
    weights = stats.poisson.pmf(n, lam)
    mean = mu + n * m_j
    sd = np.sqrt(sigma ** 2 + n * s_j ** 2)
    dens = (weights[None, :] * stats.norm.pdf(r[:, None], mean[None, :], sd[None, :])).sum(axis=1)
    return float(np.sum(np.log(np.maximum(dens, 1e-300))))


def fit_jumps_daily(daily_log_returns: np.ndarray, threshold_sd: float = JUMP_THRESHOLD_SD) -> dict:
    """Jumps of daily log returns by truncation: moves beyond ``threshold_sd`` robust sd.

    The robust sd is 1.4826 x the median absolute deviation; days beyond the
    threshold are jumps (their count per year is the intensity, their mean
    and sd the log jump size), the other days the diffusion (Mancini 2009's
    threshold estimator).  An unconstrained Merton likelihood on daily data
    would read volatility clustering as near-daily small jumps; the threshold
    keeps jumps rare and large, as the model means them.  The likelihood
    ratio of the fitted Merton density against a normal with the same mean
    and variance says how much the jumps add.

    Returns
    -------
    dict
        ``jump_intensity_per_year`` [1/yr], ``jump_mean_log``,
        ``jump_volatility_log`` [-], ``likelihood_ratio``, ``p_value`` (chi2, 3 dof).
    """
    r = np.asarray(daily_log_returns, dtype=float)
    r = r[np.isfinite(r)]
    centre = np.median(r)
    robust_sd = 1.4826 * np.median(np.abs(r - centre))
    jumps = np.abs(r - centre) > threshold_sd * robust_sd
    calm = r[~jumps]
    lam_day = jumps.mean()
    m_j = float(r[jumps].mean()) if jumps.any() else 0.0
    s_j = float(r[jumps].std(ddof=1)) if jumps.sum() > 1 else 0.0
    merton_ll = _merton_loglik(r, calm.mean(), calm.std(ddof=1), lam_day, m_j, max(s_j, 1e-9))
    normal_ll = float(np.sum(stats.norm.logpdf(r, r.mean(), r.std())))
    lr = 2.0 * (merton_ll - normal_ll)
    return {
        "jump_intensity_per_year": float(lam_day * DAYS_PER_YEAR),
        "jump_mean_log": m_j,
        "jump_volatility_log": s_j,
        "likelihood_ratio": lr,
        "p_value": float(stats.chi2.sf(max(lr, 0.0), 3)),
    }


# --------------------------------------------------------------------------- frontier

def asic_frontier(data_dir: Path, until: dt.date) -> pd.DataFrame:
    """Best efficiency on sale at each release date (records only) up to ``until``.

    CBECI rows (real models, month precision) to May 2020, then Ceccon rows
    from 2020-06 on, dated mid-year (release year only).
    """
    cbeci_path = data_dir / "asic_miners_cbeci.csv"
    ceccon_path = data_dir / "asic_miners_ceccon.csv"
    rows = []
    if cbeci_path.is_file():
        cbeci = pd.read_csv(cbeci_path, parse_dates=["release_date"])
        cbeci = cbeci[cbeci["release_date"] >= "2013-06-01"]  # drop the CPU/GPU/FPGA placeholders
        rows.append(pd.DataFrame({"date": cbeci["release_date"],
                                  "efficiency_j_per_th": cbeci["efficiency_j_per_th_derived"]}))
    if ceccon_path.is_file():
        ceccon = pd.read_csv(ceccon_path)
        dates = pd.to_datetime(ceccon["release_year"].astype(int).astype(str) + "-07-01")
        rows.append(pd.DataFrame({"date": dates, "efficiency_j_per_th": ceccon["efficiency_jth"]})
                    .loc[lambda d: d["date"] > "2020-06-01"])
    if not rows:
        raise PivotsimError(f"{data_dir}: no ASIC tables (asic_miners_cbeci.csv, asic_miners_ceccon.csv)")
    table = pd.concat(rows).sort_values("date")
    table = table[table["date"] <= pd.Timestamp(until)]
    best = table.groupby("date")["efficiency_j_per_th"].min()
    records = best[best < best.cummin().shift(1, fill_value=np.inf)]
    return records.rename("efficiency_j_per_th").to_frame()


def fit_frontier(records: pd.DataFrame, since: dt.date) -> tuple[float, float]:
    """Regress log J/TH of frontier records released from ``since`` on time.

    Returns
    -------
    decline_per_year : float
        d in ``e(t) = e_ref (1 - d)^(t - t_ref)``.
    log_efficiency : callable(date) -> float
    """
    sample = records[records.index >= pd.Timestamp(since)]
    if len(sample) < 3:
        sample = records.iloc[-5:]
    years = (sample.index - pd.Timestamp("2000-01-01")).days / DAYS_PER_YEAR
    slope, intercept = np.polyfit(years, np.log(sample["efficiency_j_per_th"].to_numpy()), 1)

    def log_efficiency(day) -> float:
        t = (pd.Timestamp(day) - pd.Timestamp("2000-01-01")).days / DAYS_PER_YEAR
        return float(intercept + slope * t)

    return float(-np.expm1(slope)), log_efficiency


# --------------------------------------------------------------------------- fees

def fit_fees(monthly_fees_btc: np.ndarray) -> dict:
    """Log-AR(1) with spikes on monthly fees per block [BTC] (see module docstring)."""
    y = np.log(np.asarray(monthly_fees_btc, dtype=float))
    prev, cur = y[:-1], y[1:]
    A = np.column_stack([np.ones_like(prev), prev])
    coef, *_ = np.linalg.lstsq(A, cur, rcond=None)
    resid = cur - A @ coef
    robust_sd = 1.4826 * np.median(np.abs(resid - np.median(resid)))
    spikes = resid > SPIKE_THRESHOLD_SD * robust_sd
    calm = ~spikes
    coef, *_ = np.linalg.lstsq(A[calm], cur[calm], rcond=None)
    c, phi = float(coef[0]), float(np.clip(coef[1], 0.01, 0.999))
    resid_calm = cur[calm] - (c + phi * prev[calm])
    step_sd = float(resid_calm.std(ddof=2))
    kappa = -math.log(phi) * 12.0
    sigma = step_sd / math.sqrt(-math.expm1(-2 * kappa / 12.0) / (2 * kappa))
    return {
        "fee_long_run_btc_per_block": math.exp(c / (1.0 - phi)),
        "fee_mean_reversion_per_year": kappa,
        "fee_volatility_per_year": sigma,
        "fee_spike_probability_per_month": float(spikes.mean()),
        "fee_spike_mean_log": float(resid[spikes].mean()) if spikes.any() else 0.0,
    }


# --------------------------------------------------------------------------- hashrate

def _ols(x: np.ndarray, y: np.ndarray):
    A = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = max(len(y) - 2, 1)
    s2 = resid @ resid / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    r2 = 1.0 - resid.var() / y.var() if y.var() > 0 else 0.0
    return coef, resid, float(math.sqrt(cov[1, 1])), float(r2)


def calibrate(data_file: str | Path, start, end, *, asic_dir: str | Path | None = None,
              marginal_power_usd_per_kwh: float = DEFAULT_MARGINAL_POWER_USD_PER_KWH,
              marginal_to_frontier: float = DEFAULT_MARGINAL_TO_FRONTIER, fee_start=None) -> Calibration:
    """Fit the market model on the window ``start..end`` of a daily data file.

    Parameters
    ----------
    data_file : str or Path
        Daily CSV in the Coin Metrics layout (``btc_network_daily_coinmetrics.csv``).
    start, end : date-like
        Calibration window (inclusive); t = 0 of the fitted state is ``end + 1 day``.
    asic_dir : str or Path, optional
        Folder of the ASIC tables (default: the data file's folder).
    marginal_power_usd_per_kwh : float
        Power price of the marginal miner, c [USD/kWh] (convention).
    marginal_to_frontier : float
        Marginal miner's J/TH as a multiple of the frontier's (convention).
    fee_start : date-like, optional
        First day of the window the fee process is fitted on, ``fee_start..end``
        (default: ``start``): fee markets change regime (the 2017 congestion,
        the 2023-24 inscriptions, the quiet post-2024-halving market).

    Returns
    -------
    Calibration
    """
    data_file = Path(data_file)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if not end_ts > start_ts:
        raise PivotsimError(f"end: {end_ts.date()} is not allowed; must be after start ({start_ts.date()})")
    daily = btc_data.read_daily(data_file)
    if start_ts < daily.index[0] or end_ts > daily.index[-1]:
        raise PivotsimError(f"{start_ts.date()}..{end_ts.date()} is not allowed; the data covers "
                            f"{daily.index[0].date()}..{daily.index[-1].date()}")
    monthly = btc_data.monthly_network(data_file, start_ts, end_ts)
    if len(monthly) < 24:
        raise PivotsimError(f"{start_ts.date()}..{end_ts.date()}: {len(monthly) - 1} months; need at least 24")
    state = btc_data.state_at(data_file, end_ts)
    valuation = end_ts + pd.Timedelta(days=1)

    # --- price
    log_returns = np.diff(np.log(monthly["price_usd"].to_numpy()))
    mean_year = float(log_returns.mean() * 12)
    vol_year = float(log_returns.std(ddof=1) * math.sqrt(12))
    window_daily = daily.loc[start_ts - pd.Timedelta(days=1):end_ts, "price_usd"]
    merton = fit_jumps_daily(np.diff(np.log(window_daily.to_numpy())))
    lam, m_j, s_j = merton["jump_intensity_per_year"], merton["jump_mean_log"], merton["jump_volatility_log"]
    jump_var = lam * (m_j ** 2 + s_j ** 2)
    if jump_var > 0.75 * vol_year ** 2:
        # keep at least a quarter of the monthly variance in the diffusion
        scale = 0.75 * vol_year ** 2 / jump_var
        lam *= scale
        jump_var *= scale
    sigma = math.sqrt(vol_year ** 2 - jump_var)
    k = math.expm1(m_j + 0.5 * s_j ** 2)
    mu = mean_year + 0.5 * sigma ** 2 + lam * (k - m_j)

    # --- efficiency frontier
    asic_dir = Path(asic_dir) if asic_dir is not None else data_file.parent
    records = asic_frontier(asic_dir, end_ts.date())
    decline, log_frontier = fit_frontier(records, start_ts.date())
    frontier_now = math.exp(log_frontier(valuation))
    dates = monthly.index
    log_marginal = np.array([log_frontier(d) for d in dates]) + math.log(marginal_to_frontier)

    # --- hashrate response
    from .models.market import KWH_PER_TH_DAY_PER_J_PER_TH

    hashprice_th_day = monthly["hashprice_usd_per_ph_day"].to_numpy() / 1e3
    x = np.log(hashprice_th_day) - log_marginal - math.log(KWH_PER_TH_DAY_PER_J_PER_TH * marginal_power_usd_per_kwh)
    h = np.log(monthly["hashrate_eh_s"].to_numpy())
    dh = np.diff(h)  # dh[i] is the growth into month-end i+1
    lag_r2 = {}
    for lag in range(1, MAX_LAG_MONTHS + 1):
        # growth into month-end m against x at month-end m - lag, on the months
        # every lag can use (m >= MAX_LAG_MONTHS)
        _, _, _, r2 = _ols(x[MAX_LAG_MONTHS - lag:len(x) - lag], dh[MAX_LAG_MONTHS - 1:])
        lag_r2[lag] = round(r2, 4)
    best_lag = max(lag_r2, key=lag_r2.get)
    coef, resid, slope_se, r2 = _ols(x[:len(x) - best_lag], dh[best_lag - 1:])
    measurement_var = 2.0 / (btc_data.HASHRATE_WINDOW_DAYS * 144)
    noise_var = max(resid.var(ddof=2) - measurement_var, 0.25 * resid.var(ddof=2))

    # --- fees
    fee_start_ts = start_ts if fee_start is None else pd.Timestamp(fee_start)
    if not start_ts <= fee_start_ts < end_ts - pd.DateOffset(months=6):
        raise PivotsimError(f"fee_start: {fee_start_ts.date()} is not allowed; must lie in {start_ts.date()}.."
                            f"{(end_ts - pd.DateOffset(months=6)).date()} (at least six months of fees)")
    fee_months = monthly if fee_start is None else btc_data.monthly_network(data_file, fee_start_ts, end_ts)
    fees = fit_fees(fee_months["fees_btc_per_block"].to_numpy()[1:])
    share = (fee_months["fees_btc_per_block"] / fee_months["subsidy_btc_per_block"]).to_numpy()[1:]

    return Calibration(
        data_file=str(data_file), start=start_ts.date(), end=end_ts.date(), months=len(log_returns),
        btc_price_usd=state["btc_price_usd"], difficulty=state["difficulty"],
        network_hashrate_eh_s=state["network_hashrate_eh_s"], block_height=state["block_height"],
        fees_btc_per_block=state["fees_btc_per_block"], hashprice_usd_per_ph_day=state["hashprice_usd_per_ph_day"],
        monthly_log_return_mean_per_year=mean_year, monthly_log_return_volatility_per_year=vol_year,
        btc_drift_per_year=mu, btc_volatility_per_year=sigma, btc_jump_intensity_per_year=lam,
        btc_jump_mean_log=m_j, btc_jump_volatility_log=s_j,
        jump_likelihood_ratio=merton["likelihood_ratio"], jump_p_value=merton["p_value"],
        efficiency_frontier_decline_per_year=decline, frontier_efficiency_j_per_th=frontier_now,
        marginal_miner_efficiency_j_per_th=marginal_to_frontier * frontier_now,
        marginal_miner_power_usd_per_kwh=marginal_power_usd_per_kwh, marginal_to_frontier=marginal_to_frontier,
        hashrate_response_intercept_per_month=float(coef[0]), hashrate_response_slope_per_month=float(coef[1]),
        hashrate_response_lag_months=int(best_lag), hashrate_volatility_per_year=math.sqrt(noise_var * 12),
        hashrate_response_r_squared=r2, hashrate_response_slope_se=slope_se, lag_r_squared=lag_r2,
        fee_share_of_subsidy_median=float(np.median(share)), **fees,
        fee_start=None if fee_start is None else fee_start_ts.date(),
    )


# --------------------------------------------------------------------------- back-test

BACKTEST_SERIES = ("btc_price_usd", "network_hashrate_eh_s", "hashprice_usd_per_ph_day")
_REALISED_COLUMN = {"btc_price_usd": "price_usd", "network_hashrate_eh_s": "hashrate_eh_s",
                    "hashprice_usd_per_ph_day": "hashprice_usd_per_ph_day"}


@dataclass
class Backtest:
    """Simulated bands against what happened, month by month.

    Attributes
    ----------
    calibration : Calibration
        Fitted on the calibration window; its state is t = 0.
    table : pandas.DataFrame
        One row per month-end after t = 0: for each series in
        :data:`BACKTEST_SERIES`, the realised value and the simulated p5, p50
        and p95 (columns ``<series>_realised``, ``<series>_p5`` ...).
    scores : dict of str -> dict
        Per series: ``coverage_p5_p95`` (share of months with the realised
        value inside [p5, p95]; ``coverage_p25_p75`` likewise), ``median_abs_pct_error_p50`` (median of
        |p50 / realised - 1|), ``median_band_width`` (median of
        (p95 - p5) / p50), ``months``.
    paths : int
    seed : int
    """

    calibration: Calibration
    table: pd.DataFrame
    scores: dict
    paths: int
    seed: int


def backtest_market(data_file: str | Path, calibrate_start, calibrate_end, test_end, *, paths: int = 10_000,
                    seed: int = 2023, price_model: str = "merton", **calibrate_options) -> Backtest:
    """Calibrate on a window, simulate the months after it from the real state, score the bands.

    Parameters
    ----------
    data_file : str or Path
        Daily CSV (Coin Metrics layout).
    calibrate_start, calibrate_end : date-like
        Fitting window; t = 0 is the day after ``calibrate_end``.
    test_end : date-like
        Last day compared (months ending up to it; the last month may end on
        the data's last day).
    paths, seed : int
        Monte Carlo paths (blocks of the engine, same seeding as a run).
    price_model : str
        ``merton`` or ``gbm``.

    Returns
    -------
    Backtest
    """
    from .models.market import simulate_market
    from .models.timeline import Timeline
    from .simulate import BLOCK_PATHS, block_shocks

    cal = calibrate(data_file, calibrate_start, calibrate_end, **calibrate_options)
    realised = btc_data.monthly_network(data_file, cal.valuation_date, test_end).iloc[1:]
    realised = realised[realised.index > pd.Timestamp(cal.end)]
    horizon = len(realised)
    if horizon < 1:
        raise PivotsimError(f"test_end: {test_end} leaves no month after {cal.end}")
    market = cal.market_inputs(price_model)
    timeline = Timeline(cal.valuation_date, horizon)
    inputs = SimpleNamespace(scenario=SimpleNamespace(horizon_months=horizon, valuation_date=cal.valuation_date),
                             market=market)
    site = SimpleNamespace(power_price_usd_per_kwh=market.marginal_miner_power_usd_per_kwh)
    n_blocks = -(-paths // BLOCK_PATHS)
    series = {name: [] for name in BACKTEST_SERIES}
    for block in range(n_blocks):
        paths_block = simulate_market(market, site, timeline, block_shocks(inputs, seed, block))
        series["btc_price_usd"].append(paths_block.btc_price_usd)
        series["network_hashrate_eh_s"].append(paths_block.network_hashrate_eh_s)
        series["hashprice_usd_per_ph_day"].append(paths_block.hashprice_usd_per_ph_day)
    columns = {}
    scores = {}
    for name in BACKTEST_SERIES:
        sim = np.concatenate(series[name])[:paths, 1:]
        p5, p25, p50, p75, p95 = np.percentile(sim, [5, 25, 50, 75, 95], axis=0)
        actual = realised[_REALISED_COLUMN[name]].to_numpy()
        columns.update({f"{name}_realised": actual, f"{name}_p5": p5, f"{name}_p25": p25, f"{name}_p50": p50,
                        f"{name}_p75": p75, f"{name}_p95": p95})
        scores[name] = {
            "coverage_p5_p95": float(np.mean((actual >= p5) & (actual <= p95))),
            "coverage_p25_p75": float(np.mean((actual >= p25) & (actual <= p75))),
            "median_abs_pct_error_p50": float(np.median(np.abs(p50 / actual - 1.0))),
            "median_band_width": float(np.median((p95 - p5) / p50)),
            "months": int(horizon),
        }
    table = pd.DataFrame(columns, index=realised.index)
    return Backtest(calibration=cal, table=table, scores=scores, paths=int(paths), seed=int(seed))


# --------------------------------------------------------------------------- rolling origins

#: quantiles scored by the rolling back-test
BACKTEST_QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
FORECASTS = ("model", "flat", "trend")
HORIZON_BANDS = ((1, 6), (7, 12), (13, 24))


def pinball_loss(y, forecast, q: float):
    """Pinball (quantile) loss ``max(q (y - f), (q - 1) (y - f))`` [units of y]."""
    diff = np.asarray(y, dtype=float) - np.asarray(forecast, dtype=float)
    return np.maximum(q * diff, (q - 1.0) * diff)


def _naive_quantiles(monthly: pd.DataFrame, state: dict, horizons: np.ndarray, days_ahead: np.ndarray) -> dict:
    """Log-hashprice quantiles of the two naive forecasts at each horizon (see :func:`rolling_backtest`)."""
    log_ratio = np.log(monthly["price_usd"].to_numpy() / monthly["hashrate_eh_s"].to_numpy())
    log_hashrate = np.log(monthly["hashrate_eh_s"].to_numpy())
    trend_per_month = (log_hashrate[-1] - log_hashrate[-13]) / 12.0
    hashrate0 = float(hashrate_from_difficulty_eh_s(state["difficulty"]))
    out = {name: np.empty((len(horizons), len(BACKTEST_QUANTILES))) for name in ("flat", "trend")}
    for j, (h, days) in enumerate(zip(horizons, days_ahead)):
        # spread: the window's h-month changes of log(price / hashrate), centred on their median
        changes = log_ratio[h:] - log_ratio[:-h]
        spread = np.quantile(changes, BACKTEST_QUANTILES) - np.median(changes)
        subsidy = subsidy_btc(int(state["block_height"] + 144 * days))
        flat = math.log(hashprice_usd_per_ph_day(state["btc_price_usd"], hashrate0,
                                                 subsidy + state["fees_btc_per_block"]))
        out["flat"][j] = flat + spread
        out["trend"][j] = flat - trend_per_month * h + spread
    return out


def rolling_backtest(data_file: str | Path, origins, *, start="2016-01-01", max_horizon: int = 24,
                     paths: int = 10_000, seed: int = 2023, price_model: str = "merton",
                     fee_window_months: int | None = None) -> pd.DataFrame:
    """Log-hashprice forecasts from rolling origins against what happened, with two naive forecasts.

    For each origin (the last day of a calibration window ``start..origin``)
    the model is calibrated and simulated from the real state for up to
    ``max_horizon`` months; each month-end that the data holds is scored.
    The naive forecasts: *flat* (price and difficulty stay as they are, the
    subsidy follows the protocol at 144 blocks a day, fees stay in BTC) and
    *trend* (the same, with difficulty growing at its trailing 12-month log
    rate); each takes its spread from the window's h-month changes of
    log(price / hashrate), centred on their median.  ``fee_window_months``:
    fit the fee process on that many months before each origin (None: the
    whole window).

    The realised value is ``hashprice_point_usd_per_ph_day`` of
    :func:`pivotsim.btc_data.monthly_network`: the last two weeks' BTC
    revenue per hash at the month-end close, a point value like the model's.

    Returns
    -------
    pandas.DataFrame
        One row per (origin, horizon): ``origin, horizon, date, realised``
        (log hashprice [log USD/PH/day]) and ``<forecast>_q<q>`` for each
        forecast of :data:`FORECASTS` and quantile of :data:`BACKTEST_QUANTILES`.
    """
    from .models.market import simulate_market
    from .models.timeline import Timeline
    from .simulate import BLOCK_PATHS, block_shocks

    rows = []
    for origin in origins:
        fee_start = None if fee_window_months is None else max(
            pd.Timestamp(start), pd.Timestamp(origin) - pd.DateOffset(months=fee_window_months))
        cal = calibrate(data_file, start, origin, fee_start=fee_start)
        realised = btc_data.monthly_network(data_file, cal.valuation_date, None).iloc[1:]
        realised = realised[realised.index > pd.Timestamp(cal.end)].iloc[:max_horizon]
        horizon = len(realised)
        if horizon < 1:
            continue
        market = cal.market_inputs(price_model)
        timeline = Timeline(cal.valuation_date, horizon)
        inputs = SimpleNamespace(scenario=SimpleNamespace(horizon_months=horizon,
                                                          valuation_date=cal.valuation_date), market=market)
        site = SimpleNamespace(power_price_usd_per_kwh=market.marginal_miner_power_usd_per_kwh)
        sims = [simulate_market(market, site, timeline, block_shocks(inputs, seed, b)).hashprice_usd_per_ph_day
                for b in range(-(-paths // BLOCK_PATHS))]
        model = np.quantile(np.log(np.concatenate(sims)[:paths, 1:]), BACKTEST_QUANTILES, axis=0).T
        monthly = btc_data.monthly_network(data_file, start, origin)
        state = btc_data.state_at(data_file, origin)
        horizons = np.arange(1, horizon + 1)
        days_ahead = (realised.index - pd.Timestamp(cal.end)).days.to_numpy()
        naive = _naive_quantiles(monthly, state, horizons, days_ahead)
        # the model's month-end hashprice is a point value: compare it with the realised BTC revenue per hash
        # of the last two weeks at the month-end close (a two-week mean price is smoother than any point)
        actual = np.log(realised["hashprice_point_usd_per_ph_day"].to_numpy())
        for j, h in enumerate(horizons):
            row = {"origin": cal.end, "horizon": int(h), "date": realised.index[j].date(), "realised": actual[j]}
            for name, table in (("model", model), ("flat", naive["flat"]), ("trend", naive["trend"])):
                row.update({f"{name}_q{round(q * 100):02d}": table[j, k] for k, q in enumerate(BACKTEST_QUANTILES)})
            rows.append(row)
    return pd.DataFrame(rows)


def score_backtest(table: pd.DataFrame) -> pd.DataFrame:
    """Mean pinball loss per quantile and p5-p95 coverage, per forecast and horizon band.

    Returns
    -------
    pandas.DataFrame indexed by (band, forecast)
        ``pinball_q05 .. pinball_q95``, ``pinball_mean`` [log units], ``coverage_p5_p95`` [-], ``n``.
    """
    out = []
    for lo, hi in HORIZON_BANDS + ((1, 24),):
        band = table[(table["horizon"] >= lo) & (table["horizon"] <= hi)]
        if band.empty:
            continue
        for name in FORECASTS:
            row = {"band": f"{lo}-{hi}", "forecast": name, "n": len(band)}
            losses = []
            for q in BACKTEST_QUANTILES:
                loss = float(pinball_loss(band["realised"], band[f"{name}_q{round(q * 100):02d}"], q).mean())
                row[f"pinball_q{round(q * 100):02d}"] = loss
                losses.append(loss)
            row["pinball_mean"] = float(np.mean(losses))
            inside = (band["realised"] >= band[f"{name}_q05"]) & (band["realised"] <= band[f"{name}_q95"])
            row["coverage_p5_p95"] = float(inside.mean())
            out.append(row)
    return pd.DataFrame(out).set_index(["band", "forecast"])


def rolling_fee_backtest(data_file: str | Path, origins, window_months: int | None, *, max_horizon: int = 24,
                         paths: int = 20_000, seed: int = 3) -> pd.DataFrame:
    """Log fees per block forecast from rolling origins by the fee process fitted on a window.

    For each origin the fee AR(1) with spikes (:func:`fit_fees`) is fitted on
    the ``window_months`` months before it (None: from 2016-01-01), run from
    the origin's 30-day fee level, and scored against the realised monthly
    fees per block (same columns as :func:`rolling_backtest`, forecast ``fees``).
    """
    from .models.market import ou_levels

    rng = np.random.default_rng(seed)
    shocks = {"fees": rng.standard_normal((paths, max_horizon)), "fee_spike": rng.random((paths, max_horizon))}
    realised_all = btc_data.monthly_network(data_file, "2016-01-01", None)
    rows = []
    for origin in origins:
        origin = pd.Timestamp(origin)
        start = pd.Timestamp("2016-01-01") if window_months is None else origin - pd.DateOffset(months=window_months)
        fit = fit_fees(btc_data.monthly_network(data_file, start, origin)["fees_btc_per_block"].to_numpy()[1:])
        state = btc_data.state_at(data_file, origin)
        levels = ou_levels(state["fees_btc_per_block"], fit["fee_long_run_btc_per_block"],
                           fit["fee_mean_reversion_per_year"], fit["fee_volatility_per_year"], max_horizon + 1,
                           shocks, normals="fees", spike="fee_spike",
                           spike_probability=fit["fee_spike_probability_per_month"], spike_log=fit["fee_spike_mean_log"])
        quantiles = np.quantile(np.log(levels[:, 1:]), BACKTEST_QUANTILES, axis=0).T
        realised = realised_all[realised_all.index > origin].iloc[:max_horizon]
        for j, (day, value) in enumerate(realised["fees_btc_per_block"].items()):
            row = {"origin": origin.date(), "horizon": j + 1, "date": day.date(), "realised": math.log(value)}
            row.update({f"fees_q{round(q * 100):02d}": quantiles[j, k] for k, q in enumerate(BACKTEST_QUANTILES)})
            rows.append(row)
    return pd.DataFrame(rows)


def score_forecast(table: pd.DataFrame, name: str) -> dict:
    """Mean pinball loss (over the quantiles) and p5-p95 coverage of one forecast's columns in a table."""
    losses = [float(pinball_loss(table["realised"], table[f"{name}_q{round(q * 100):02d}"], q).mean())
              for q in BACKTEST_QUANTILES]
    inside = (table["realised"] >= table[f"{name}_q05"]) & (table["realised"] <= table[f"{name}_q95"])
    return {"pinball_mean": float(np.mean(losses)), "coverage_p5_p95": float(inside.mean()), "n": len(table)}
