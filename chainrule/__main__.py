"""The command line: ``python -m chainrule [tour | diff | train]`` (also installed as
``chainrule``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="chainrule",
                                     description="Automatic differentiation for NumPy.")
    commands = parser.add_subparsers(dest="command")
    tour_parser = commands.add_parser(
        "tour", help="run the autograd chapter of Dive into Deep Learning")
    tour_parser.add_argument("--style", default="pytorch",
                             choices=["pytorch", "mxnet", "jax", "tensorflow", "all"],
                             help="which of the chapter's framework tabs to run (default pytorch)")
    from chainrule.diffcli import add_diff_parser, run_diff
    from chainrule.train import add_train_parser, run_train

    add_diff_parser(commands)
    add_train_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "diff":
        return run_diff(args)
    if args.command == "train":
        return run_train(args)
    if args.command in (None, "tour"):
        from chainrule.tour import tour

        tour(sys.stdout, getattr(args, "style", "pytorch"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
