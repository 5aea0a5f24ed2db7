"""The typer app and what every command shares: consoles, one-line errors, progress, cluster options."""

import os
import shlex
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .._version import __version__
from ..errors import PivotsimError

if TYPE_CHECKING:
    from rich.progress import Progress


def _plain_metavars() -> None:
    """Help shows each option's metavar (``--paths N``, ``--set KEY=VALUE``) and nothing after a flag.

    typer 0.2x labels every parameter with its Python type (``<bool>``,
    ``<list[str]>``, ``{scenario}``); an analyst reads ``PATH`` and ``N``.
    Options carry their metavar (set on each option); flags and arguments
    (whose metavar is their name) get no type label; a required argument
    reads ``PATH`` in the usage line, an optional one ``[PATH]``.  Without
    these typer internals (another typer version) help keeps typer's labels.
    """
    try:
        from typer import core
    except ImportError:  # pragma: no cover
        return
    option, argument = getattr(core, "TyperOption", None), getattr(core, "TyperArgument", None)
    if option is None or argument is None or not hasattr(option, "display_type_rich"):
        return
    typed = option.display_type_rich

    plain = {"<int>": "N", "<float>": "NUMBER", "<str>": "TEXT", "<path>": "PATH", "<list[str]>": "TEXT",
             "<list[int]>": "N", "<list[float]>": "NUMBER", "<list[path]>": "PATH"}

    def option_label(self, ctx):
        if self.is_flag or self.count:
            return None
        label = typed(self, ctx)
        return plain.get(label, label.strip("<>") if isinstance(label, str) else label)

    def usage_name(self):
        name = self.display_name_raw + ("..." if self.nargs != 1 and "..." not in self.display_name_raw else "")
        return name if self.required else f"[{name}]"

    option.display_type_rich = option_label
    argument.display_type_rich = lambda self, ctx: None
    if hasattr(argument, "_usage_display_name"):
        argument._usage_display_name = usage_name


_plain_metavars()
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Bitcoin mining or AI hosting on the same megawatts: value both, path by path.")
# Tables are wide (deals x metrics): when output goes to a file or a pipe,
# where rich would fall back to 80 columns and wrap every cell, print at 160,
# unless the user asks for a width with COLUMNS (``COLUMNS=80 pivotsim run ... | less``).
_columns = os.environ.get("COLUMNS", "")


class LazyConsole:
    """A rich ``Console`` made at its first use: commands that print only through ``typer.echo``
    (``validate``, ``--version``) do not import rich.  Attributes are the console's; :meth:`get` is
    the console itself (for rich objects that take one)."""

    def __init__(self, **options):
        self._options = options
        self._console = None

    def get(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name):
        return getattr(self.get(), name)


stdout = LazyConsole(width=None if sys.stdout.isatty() else int(_columns) if _columns.isdigit() and int(_columns) > 0
                     else 160)
stderr = LazyConsole(stderr=True)
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Print one line on stderr and exit with code 2."""
    from .checks import option_message

    typer.echo(f"error: {option_message(message)}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _version(value: bool):
    if value:
        typer.echo(f"pivotsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None):
    """pivotsim: should a miner keep mining on its megawatts, or host AI?"""




def load(file, overrides=(), *, quiet: bool = False):
    """:func:`~pivotsim.scenario.load_scenario`, saying on stderr when the bundled library's copy is used."""
    from ..scenario.library import find_scenario
    from ..scenario.yaml_text import read_yaml

    found = find_scenario(file)
    path = str(found.path) if found.bundled else str(file)
    read = read_yaml(path)  # a broken file fails here, before pydantic, numpy and scipy are imported
    from ..scenario.loading import scenario_from_yaml

    scenario = scenario_from_yaml(path, *read, overrides=overrides, bundled=found.bundled)
    if scenario.bundled and not quiet:
        stderr.print(f"{file}: no such file here; using the bundled deal library's {Path(scenario.file).name} "
                     "(`pivotsim scenarios` lists them)", highlight=False, soft_wrap=True)
    return scenario


def parse_paths(text: str):
    """``--paths``: a whole number >= 1 or ``auto`` -> int or None."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise PivotsimError(f"--paths: {text!r} is not allowed; must be a whole number >= 1 or 'auto'") from None
    if value < 1:
        raise PivotsimError(f"--paths: {text!r} is not allowed; must be a whole number >= 1 or 'auto'")
    return value


_NOTICE_SHOWN = False


def first_run_notice(bar: "Progress | None" = None) -> None:
    """On a first run (after installing), start compiling kernels ahead and say so on a terminal's stderr, once.

    :func:`pivotsim.compiled.compile_ahead` starts a background process
    compiling kernels into numba's cache.  With a progress ``bar``, a second
    line of it counts the kernels cached so far and names the one this
    process is compiling (numba's compile events); without, one line says
    why the first run is slow.
    """
    global _NOTICE_SHOWN
    if _NOTICE_SHOWN:
        return
    _NOTICE_SHOWN = True
    from ..compiled import compile_ahead, needs_compiling

    compile_ahead()
    if not stderr.is_terminal or not needs_compiling():
        return
    if bar is None:
        stderr.print("Compiling pivotsim's kernels (first run after installing; cached for later runs)",
                     highlight=False, soft_wrap=True)
        return
    _watch_compiles(bar)


def _watch_compiles(bar: "Progress") -> None:
    """A line of ``bar`` counting pivotsim's kernels in numba's cache as they are compiled, naming this process's current one."""
    from numba.core import event

    from ..compiled import first_run_kernels, is_cached, is_kernel

    kernels = [k for k in first_run_kernels() if not is_cached(k)]
    task = bar.add_task("compiling kernels (first run only)", total=len(kernels), unit="kernels")

    def done() -> int:
        return sum(map(is_cached, kernels))

    class CompileBar(event.Listener):
        def on_start(self, ev):
            dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
            if dispatcher is not None and is_kernel(dispatcher):
                bar.update(task, description=f"compiling {dispatcher.py_func.__name__.lstrip('_')}",
                           completed=done())

        def on_end(self, ev):
            dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
            if dispatcher is not None and is_kernel(dispatcher):
                bar.update(task, completed=done())

    event.register("numba:compile", CompileBar())


def progress_bar(enabled: bool):
    if not enabled:
        first_run_notice()
        return None, None
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class CountColumn(ProgressColumn):
        """``done/total unit``; blank for the simulation until its first report (its total of 1 is a placeholder)."""

        def render(self, task) -> Text:
            if task.fields.get("placeholder") and not task.completed:
                return Text("")
            return Text(f"{task.completed:,}/{task.total:,} {task.fields['unit']}", no_wrap=True,
                        overflow="ellipsis")

    bar = Progress(TextColumn("{task.description}"), BarColumn(), CountColumn(), TimeElapsedColumn(),
                   console=stderr.get(), transient=True)
    task = bar.add_task("simulating", total=1, unit="paths", placeholder=True)
    first_run_notice(bar)
    return bar, task


# ---------------------------------------------------------------- Dask cluster options
# Every command that simulates paths (run, sweep, sensitivity, compare) takes
# the same two options and runs its API call inside ``cluster(...)``:
#
#     def sweep(..., workers: WorkersOption = None, scheduler: SchedulerOption = None):
#         with cluster(workers, scheduler, quiet=as_json) as client:
#             result = api.sweep(..., client=client)
#
# ``client`` is None for a local run.  Cluster failures are PivotsimErrors
# (one line, exit 2), raised within a few seconds.
WorkersOption = Annotated[Optional[int], typer.Option(
    "--workers", help="Run the paths on a local Dask cluster of N worker processes.")]
SchedulerOption = Annotated[Optional[str], typer.Option(
    "--scheduler", help="Run the paths on the Dask scheduler at this address (tcp://host:8786) or "
                        "of this scheduler file (sched.json) \\[default: $PIVOTSIM_SCHEDULER unless "
                        "--workers is given].", metavar="ADDRESS")]
ThreadsOption = Annotated[Optional[int], typer.Option(
    "--threads", help="Threads of this process evaluating chunks of paths (never changes the numbers) "
                      "\\[default: the CPUs available, at most 8].", show_default=False)]
SweepWorkersOption = Annotated[Optional[int], typer.Option(
    "--threads", help="Workers walking stretches of the grid, each with its own engine: forked processes on "
                      "Linux (PIVOTSIM_FORK=0: threads); never changes the numbers "
                      "\\[default: the CPUs available, at most 8, one per 16 points].", show_default=False)]


@contextmanager
def cluster(workers: int | None, scheduler: str | None, *, quiet: bool = False):
    """The Dask client of ``--workers``/``--scheduler`` (None for a local run), closed on exit.

    Dask's own log records (a lost scheduler logs a traceback) are muted
    while it runs: the terminal gets pivotsim's one-line error instead.
    """
    import logging

    from ..distributed import as_executor, connect, scheduler_address

    if workers is not None or scheduler_address(scheduler, workers) is not None:
        import distributed  # noqa: F401  (sets up its log handlers, muted below)
    dask_log = logging.getLogger("distributed")
    muted = [(h, h.level) for h in dask_log.handlers]  # records of distributed.* end here
    for handler, _ in muted:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        with connect(scheduler, workers) as client:
            if client is not None and not quiet:
                info = as_executor(client).description
                stderr.print(f"Dask: {info['workers']} workers, {info['threads']} threads, "
                             f"scheduler {info['scheduler']}", highlight=False)
            yield client
    finally:
        for handler, level in muted:
            handler.setLevel(level)



def command_line() -> str | None:
    return "pivotsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None




def point_progress(label: str, enabled: bool):
    first_run_notice()
    if not enabled:
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} evaluations"),
                   TimeElapsedColumn(), console=stderr.get(), transient=True)
    return bar, bar.add_task(label, total=1)


def with_progress(label: str, enabled: bool, call):
    bar, task = point_progress(label, enabled)
    if bar is None:
        return call(None)
    with bar:
        return call(lambda done, total: bar.update(task, completed=done, total=total))


