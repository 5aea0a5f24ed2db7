"""Commands of the market data: ``pivotsim data update | status`` and ``pivotsim hashprice``.

Parse, call, print; bad input and network failures are one line on stderr
and exit code 2.
"""

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..errors import PivotsimError
from .tables import new_table
from .app import app, fail, stdout

# The modules behind these commands (httpx, pandas, the compiled models) are imported by the commands
# themselves: importing the CLI stays light (tests/test_cli_imports.py).

data_app = typer.Typer(no_args_is_help=True, help="The daily bitcoin network data: fetch new days, show the file.")
app.add_typer(data_app, name="data")


@data_app.command("update")
def update(to: Annotated[Optional[Path], typer.Option(
        "--to", help="Folder of the data file (default: pivotsim's user data folder).")] = None):
    """Fetch the days since the file's last one from the Coin Metrics community API and append them.

    The only command that uses the network.  The file is written atomically:
    on any failure it is left as it was.
    """
    from .. import data_refresh

    try:
        report = data_refresh.update(to)
    except PivotsimError as exc:
        fail(str(exc))
    typer.echo(report.summary())


@data_app.command("status")
def status(file: Annotated[Optional[Path], typer.Option(
        "--file", help="Data file or its folder (default: the user data folder's).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False):
    """Show the data file, its first and last day, and where it came from."""
    from .. import data_refresh

    try:
        state = data_refresh.status(file)
    except PivotsimError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(state.to_dict(), indent=2))
        return
    typer.echo(f"file:     {state.file}")
    if not state.exists:
        typer.echo(f"          missing ({state.source})")
        return
    behind = data_refresh.days_behind(state)
    typer.echo(f"days:     {state.first_day} to {state.last_day} ({state.rows:,} rows"
               + (f"; {behind:.0f} day(s) behind yesterday" if behind > 0 else "; up to yesterday") + ")")
    typer.echo(f"source:   {state.source}")
    if state.updated_utc:
        typer.echo(f"updated:  {state.updated_utc}")


HASHPRICE_HELP = (
    "Spot mining figures of the latest data (the last day of the data file), or of the values given: "
    "hashprice [USD per PH/s per day] at the difficulty's hashrate (D 2^32 / 600) and 144 blocks a day; "
    "revenue per kWh of each ASIC class; its break-even power price, the hashprice per TH/s per day after "
    "the pool fee divided by the kWh one TH/s draws in a day (J/TH x 0.024); the break-even BTC price at "
    "--power-price; and the next halving's expected date (the blocks left at 144 a day).")


@app.command("hashprice", help=HASHPRICE_HELP)
def hashprice(
    btc_price: Annotated[Optional[float], typer.Option("--btc-price", help="BTC price [USD].")] = None,
    difficulty: Annotated[Optional[float], typer.Option("--difficulty", help="Network difficulty.")] = None,
    fees: Annotated[Optional[float], typer.Option("--fees-btc-per-block", help="Fees per block [BTC].")] = None,
    block_height: Annotated[Optional[int], typer.Option("--block-height", help="Block height.")] = None,
    after_halving: Annotated[bool, typer.Option(
        "--after-halving", help="At the next era's subsidy (the figures just after the next halving).")] = False,
    efficiency: Annotated[Optional[List[float]], typer.Option(
        "--efficiency-j-per-th", help="An ASIC class to add [J/TH] (repeatable).")] = None,
    power_price: Annotated[Optional[float], typer.Option(
        "--power-price", help="Power price [USD/kWh]: adds each class's break-even BTC price.")] = None,
    pool_fee: Annotated[Optional[float], typer.Option(
        "--pool-fee", help="Pool fee \\[share] (default 0.01, the library scenarios' FPPS assumption).")] = None,
    data: Annotated[Optional[Path], typer.Option(
        "--data", help="Daily data file (default: the user data folder's, see `pivotsim data status`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
):
    from ..analysis.hashprice import hashprice as spot_hashprice
    from ..models.spot import DEFAULT_POOL_FEE_SHARE

    try:
        if difficulty is not None and not difficulty > 0:
            raise PivotsimError(f"--difficulty: {difficulty:g} is not allowed; must be > 0")
        if btc_price is not None and not btc_price > 0:
            raise PivotsimError(f"--btc-price: {btc_price:g} is not allowed; must be > 0")
        figures = spot_hashprice(data_file=data, btc_price_usd=btc_price, difficulty=difficulty,
                                 fees_btc_per_block=fees, block_height=block_height, after_halving=after_halving,
                                 efficiencies_j_per_th=tuple(efficiency or ()),
                                 pool_fee_share=DEFAULT_POOL_FEE_SHARE if pool_fee is None else pool_fee,
                                 power_price_usd_per_kwh=power_price)
    except PivotsimError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(figures.to_dict(), indent=2))
        return
    lines = [
        ("BTC price", f"${figures.btc_price_usd:,.0f}"),
        ("difficulty", f"{figures.difficulty:.4g} ({figures.network_hashrate_eh_s:,.0f} EH/s)"),
        ("block height", f"{figures.block_height:,} (subsidy {figures.subsidy_btc_per_block:g} BTC"
                         + (", after the next halving)" if figures.after_halving else ")")),
        ("fees", f"{figures.fees_btc_per_block:.4f} BTC/block"),
        ("hashprice", f"${figures.hashprice_usd_per_ph_day:,.2f} per PH/s per day"),
        ("next halving", f"block {figures.next_halving_height:,}, expected {figures.next_halving_date}"),
    ]
    stdout.print(f"Network on {figures.date}", highlight=False)
    stdout.print(f"  from: {figures.source}", highlight=False, overflow="fold")
    for label, text in lines:
        stdout.print(f"  {label:<13s} {text}", highlight=False)
    table = new_table(title=f"Per ASIC class (pool fee {figures.pool_fee_share:.1%})", title_justify="left")
    table.add_column("J/TH", justify="right")
    table.add_column("revenue $/kWh", justify="right")
    table.add_column("break-even power $/kWh", justify="right")
    if figures.power_price_usd_per_kwh is not None:
        table.add_column(f"break-even BTC at ${figures.power_price_usd_per_kwh:.3f}/kWh", justify="right")
    for key, value in figures.breakeven_power_usd_per_kwh.items():
        row = [key, f"{figures.revenue_usd_per_kwh[key]:.4f}", f"{value:.4f}"]
        if figures.power_price_usd_per_kwh is not None:
            row.append(f"${figures.breakeven_btc_price_usd[key]:,.0f}")
        table.add_row(*row)
    stdout.print(table)
