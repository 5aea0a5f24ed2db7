"""pivotsim.brent.brent_root against its peer, scipy.optimize.brentq: the same roots, to the last bit.

The run's break-even solve uses brent_root so as not to import scipy.optimize
(see the module); it must give what brentq gave before.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from pivotsim.brent import brent_root

FUNCTIONS = [
    ("cubic", lambda x: x ** 3 - 2 * x - 5, 2.0, 3.0),  # Wallis's example, root 2.0945514815...
    ("cos", lambda x: math.cos(x) - x, 0.0, 1.0),
    ("steep exp", lambda x: math.exp(20 * x) - 3.0, -1.0, 1.0),
    ("flat near root", lambda x: (x - 0.7) ** 3 + 1e-4 * (x - 0.7), 0.0, 2.0),
    ("kinked", lambda x: max(x - 0.3, 2 * (x - 0.3)), -4.0, 1.0),
    ("log, far end", lambda x: math.log(x) + 2.5, 0.01, 100.0),
]


@pytest.mark.parametrize("name,f,a,b", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
@pytest.mark.parametrize("xtol", [1e-6, 2e-12])
def test_same_root_as_scipy_brentq(name, f, a, b, xtol):
    calls_ours, calls_scipy = [], []
    ours = brent_root(lambda x: calls_ours.append(x) or f(x), a, b, xtol=xtol)
    theirs = brentq(lambda x: calls_scipy.append(x) or f(x), a, b, xtol=xtol)
    assert ours == theirs
    assert calls_ours == calls_scipy  # the same steps, not only the same end


def test_reversed_bracket_and_exact_ends():
    f = FUNCTIONS[0][1]
    assert brent_root(f, 3.0, 2.0, xtol=1e-9) == brentq(f, 3.0, 2.0, xtol=1e-9)
    assert brent_root(lambda x: x - 1.0, 1.0, 5.0) == 1.0
    assert brent_root(lambda x: x - 5.0, 1.0, 5.0) == 5.0


def test_root_within_tolerance_of_the_closed_form():
    root = brent_root(lambda x: x * x - 2.0, 0.0, 2.0, xtol=1e-12)
    assert abs(root - math.sqrt(2.0)) <= 1e-12


def test_no_bracket_and_no_convergence_raise():
    with pytest.raises(ValueError, match="same sign"):
        brent_root(lambda x: x * x + 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="no convergence in 3 steps"):
        brent_root(np.sin, 3.0, 3.3, xtol=1e-15, maxiter=3)
    # a triple root at 0.7 is too flat for 2e-12 in 100 steps, for scipy's too
    with pytest.raises(RuntimeError, match="converge"):
        brentq(lambda x: (x - 0.7) ** 3, 0.0, 2.0, xtol=2e-12)
    with pytest.raises(ValueError, match="no convergence in 100 steps"):
        brent_root(lambda x: (x - 0.7) ** 3, 0.0, 2.0, xtol=2e-12)
