"""The README's demo command: the chapter in all four styles, every display as the book's."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tour_of_all_styles_matches_the_book():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "chainrule", "tour", "--style", "all"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for style in ("pytorch", "mxnet", "jax", "tensorflow"):
        assert f"## The {style} tab" in out
    assert "## Exercises" in out
    assert "book differs" not in out
    from chainrule.tour import STYLES, cells_for

    shown_in_book = sum(1 for style in STYLES for cell in cells_for(style)[0]
                        if len(cell) > 2 and cell[2] is not None)
    assert out.count("-- the same)") == shown_in_book  # every display the book shows


def test_unknown_style_is_refused():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "chainrule", "tour", "--style", "keras"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and "invalid choice" in result.stderr
