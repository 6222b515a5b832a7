"""The chapter's exercise 4: plot f(x) = sin(x) and its derivative, found by autograd.

The derivative is not written as cos(x): chainrule.viz.plot differentiates sin by automatic
differentiation at every point of the grid; only afterwards is the curve compared with cos.

Run: python examples/plot_sin_derivative.py [--out PATH]   (needs pip install 'chainrule[viz]')

Without --out the figure is written to a temporary directory and deleted (so that running every
example, as CI does, writes nothing into the repository); give --out sin.png (or .svg, .pdf)
to keep it.
"""

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.viz import plot


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where to save the figure (.png, .svg, .pdf)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out if args.out is not None else Path(tmp) / "sin_and_derivative.png"
        fig = plot(cr.sin, 0.0, 2 * math.pi, order=1, path=out,
                   title="f(x) = sin(x) and f'(x), by autograd")

        (f_line, df_line) = fig.axes[0].get_lines()
        x, df = np.asarray(df_line.get_xdata()), np.asarray(df_line.get_ydata())
        error = float(np.max(np.abs(df - np.cos(x))))
        print(f"f' by autograd at {x.size} points in [0, 2 pi]: max |f'(x) - cos(x)| = {error:.1e}")
        assert error <= 1e-12, error
        assert np.max(np.abs(np.asarray(f_line.get_ydata()) - np.sin(x))) <= 1e-12
        assert out.stat().st_size > 0
        print(f"saved {out}" + ("" if args.out is not None else " (temporary: use --out to keep)"))


if __name__ == "__main__":
    main()
