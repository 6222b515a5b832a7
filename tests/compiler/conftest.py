"""The compiler tests run three times: as plans are built for the arrays users have; with every
elementwise step fused in NumPy blocks (regions of any size, cut into blocks of one row, on
three threads), so that each primitive's forward and rules are checked on blocks of rows too;
and fused with numexpr where it can express a region (when numexpr is installed), so that its
expressions of the rules are checked against the rules."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule import threads
from chainrule.compiler import compiled, fusion


@pytest.fixture
def fused_small(monkeypatch):
    """Every elementwise step of a plan fused, whatever its size and however few, in blocks of
    one row, on three threads."""
    monkeypatch.setattr(fusion, "MIN_SIZE", 1)
    monkeypatch.setattr(fusion, "MIN_STEPS", 1)
    monkeypatch.setattr(threads, "BLOCK", 1)
    count = cr.get_num_threads()
    cr.set_num_threads(3)
    yield
    cr.set_num_threads(count)


@pytest.fixture(params=["as built", "blocks", "numexpr"])
def fusion_mode(request, monkeypatch):
    """False as built; else every elementwise step of a plan is fused, in blocks of one row
    (``"blocks"``, the default), or by numexpr where it can."""
    if request.param == "numexpr" and fusion.numexpr_module() is None:
        pytest.skip("numexpr is not installed (pip install 'chainrule[fast]')")
    if request.param == "numexpr":  # (chainrule.compile's default leaves numexpr out)
        monkeypatch.setitem(compiled.OPTIONS, "use_numexpr", True)
    if request.param == "as built":
        return False
    request.getfixturevalue("fused_small")
    return request.param


@pytest.fixture
def scan_runs(monkeypatch):
    """``count(kind)``: a list that gains an entry each time the forward pass of an ``"LSTM"``
    or ``"GRU"`` layer's scan runs (its states computed), from now on in the test."""
    from chainrule.rules import lstm_layer, recurrent

    def count(kind: str) -> list:
        module, name = ((lstm_layer, "lstm_scan_states") if kind == "LSTM"
                        else (recurrent, "gru_scan_states"))
        runs, original = [], getattr(module, name)

        def counted(*args, **kwargs):
            runs.append(1)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
        return runs

    return count
