"""The CLI answers at once: importing it (what --version and --help do) loads none of the heavy libraries.

Origin: issue 18's list of modules that only the commands needing them may
import; each is checked in a fresh interpreter, so no other test's imports count.
"""

from __future__ import annotations

import json
import subprocess
import sys

# pydantic is not in the list: typer (>= 0.2x) itself converts option values with it; rich is, for the
# commands that print through typer.echo only (help is formatted by rich)
HEAVY = ["scipy", "scipy.stats", "pandas", "matplotlib", "numba", "dask", "distributed", "reportlab", "SALib",
         "pyarrow", "numpy", "rich"]


def loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_module():
    assert loaded_after("import pivotsim.cli") == []


def test_version_and_help_load_no_heavy_module():
    for args in (["--version"], ["--help"], ["run", "--help"], ["scenarios", "--help"]):
        code = ("from typer.testing import CliRunner\nfrom pivotsim.cli import app\n"
                f"assert CliRunner().invoke(app, {args!r}).exit_code == 0")
        assert loaded_after(code) == ([] if args == ["--version"] else ["rich"]), args


def test_broken_yaml_is_refused_before_validation_machinery(tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text("a: 1\na: 2\n")
    code = ("from typer.testing import CliRunner\nfrom pivotsim.cli import app\n"
            f"assert CliRunner().invoke(app, ['validate', {str(bad)!r}]).exit_code == 2")
    assert loaded_after(code) == []


def test_validate_does_not_load_the_engine_or_the_output():
    # every bundled deal: their distributions (truncated normal and lognormal, PERT, triangular) are
    # checked without scipy, which the first draw imports (scipy.special only, see test_distributions)
    code = ("from typer.testing import CliRunner\nfrom pivotsim.cli import app\n"
            "from pivotsim.scenario.library import LIBRARY_DIR\n"
            "files = sorted(str(p) for p in LIBRARY_DIR.glob('*.yaml'))\n"
            "assert len(files) >= 8 and CliRunner().invoke(app, ['validate', *files]).exit_code == 0")
    assert set(loaded_after(code)) == {"numpy"}


def test_compile_bar_counts_pivotsim_kernels_only():
    """The first-run bar counts pivotsim's kernels (compiled._KERNELS), not numba's internal functions."""
    import numba

    from pivotsim import compiled
    from pivotsim.models import finance  # noqa: F401  (registers kernels)

    assert compiled.is_kernel(compiled._KERNELS[0])
    assert not compiled.is_kernel(numba.njit(lambda x: x))
    assert all(compiled.is_kernel(k) for k in compiled.uncompiled_kernels())


def test_command_annotations_are_objects_not_strings():
    """typer builds every command at each start and evaluates string annotations (``from __future__
    import annotations``) anew each time, a few times over: the command modules keep them as objects."""
    import inspect

    from pivotsim.cli import app

    def commands(typer_app):
        yield from (c.callback for c in typer_app.registered_commands)
        for group in typer_app.registered_groups:
            yield from commands(group.typer_instance)
        if typer_app.registered_callback is not None:
            yield typer_app.registered_callback.callback

    found = list(commands(app))
    assert len(found) > 15
    for callback in found:
        for parameter in inspect.signature(callback).parameters.values():
            assert not isinstance(parameter.annotation, str), (callback.__module__, callback.__name__, parameter.name)


def test_run_loads_what_it_uses_only(tmp_path):
    """``run`` needs numpy, numba, scipy.special (draws) and pyarrow (the Parquet table); not pandas
    (the CSV and the calendar are written without it), scipy.stats (Sobol' sampling and rank drivers
    only), scipy.optimize (the break-even is pivotsim.brent's), asyncio (Dask's), the PDF, Dask or
    SALib, nor matplotlib without figures."""
    out = tmp_path / "runs"
    code = ("from typer.testing import CliRunner\nfrom pivotsim.cli import app\n"
            f"r = CliRunner().invoke(app, ['run', 'iren', '--paths', '200', '--no-figures', '--out', {str(out)!r}])\n"
            "assert r.exit_code == 0, r.output")
    loaded = set(loaded_after(code))
    assert {"numpy", "numba", "pyarrow"} <= loaded
    assert not loaded & {"pandas", "scipy.stats", "scipy.optimize", "asyncio", "matplotlib", "dask", "distributed",
                         "reportlab", "SALib"}
