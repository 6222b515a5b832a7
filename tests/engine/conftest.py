"""Fixtures for the engine's tests."""

import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """Some tests switch grad mode off with a plain call; never let that leak to the next."""
    yield
    cr.set_grad_enabled(True)
