"""Vendor the PyTorch code of *Dive into Deep Learning* into ``tests/data/book/`` (run by hand).

    python -m tests.book.extract [--mirror PATH]

reads the book's markdown from a git checkout of d2l-ai/d2l-en (default: the read-only mirror
at ``/work/.mirror/d2l-ai+d2l-en/repo``, commit 23d7a5ae) and writes

- one file per section in ``SECTIONS``, ``tests/data/book/<chapter>/<section>.py``: the code
  cells that run under the book's PyTorch tab, in order, each opened by a ``# %% cell N``
  line that the harness splits on (so that it can show a cell's last expression as Jupyter
  does);
- ``tests/data/book/d2l_torch.py``: the part of the book's library ``d2l/torch.py`` that
  chapters 2 to 10 define (the ``#@save`` cells, from ``use_svg_display`` to ``class GRU``),
  then the library's aliases (``d2l.reshape``, ``d2l.randn`` ...).

Which cells run under the PyTorch tab is d2lbook's rule: a cell whose first line is
``%%tab a, b`` runs under the tabs it names (``all``: every tab), and a cell with no ``%%tab``
line runs under every tab. The only edits are these, all to import lines or magics:

- the ``%%tab`` line and IPython magics (``%matplotlib inline``, ``%load_ext``) are dropped,
  and so is the cell that selects the tabs (``tab.interact_select(...)``);
- the import lines of ``IMPORTS`` are rewritten: torch becomes chainrule, ``from d2l import
  torch as d2l`` becomes ``import book_d2l as d2l`` (the harness's module, built from
  ``d2l_torch.py``), torchvision comes from ``d2l_stubs`` (``tests/book/d2l_stubs.py``);
- in the library, the imports of packages CI lacks (matplotlib, IPython, PIL, pandas,
  requests, SciPy's ``distance_matrix``, torchvision) come from ``d2l_stubs`` instead, and one
  import line is appended that takes ``show_images`` and ``download`` from the stubs (the
  book defines them with matplotlib and the network).

An import line that mentions torch and is not in ``IMPORTS`` stops the script, so that a new
edition cannot slip an unreviewed import past it. The harness (``tests/book/harness.py``) can
turn the rewritten imports back into torch's (``BACK_TO_TORCH``) to run a section under
PyTorch for comparison. The book's sample code is MIT-0 licensed (LICENSE-SAMPLECODE).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
from pathlib import Path

MIRROR = "/work/.mirror/d2l-ai+d2l-en/repo"
OUT = Path(__file__).resolve().parents[1] / "data" / "book"

SECTIONS = [
    "chapter_linear-regression/synthetic-regression-data",
    "chapter_linear-regression/linear-regression-scratch",
    "chapter_linear-regression/linear-regression-concise",
    "chapter_linear-regression/weight-decay",
    "chapter_linear-classification/image-classification-dataset",
    "chapter_linear-classification/softmax-regression-scratch",
    "chapter_linear-classification/softmax-regression-concise",
    "chapter_multilayer-perceptrons/mlp-implementation",
    "chapter_multilayer-perceptrons/dropout",
    "chapter_multilayer-perceptrons/numerical-stability-and-init",
    "chapter_builders-guide/model-construction",
    "chapter_builders-guide/parameters",
    "chapter_builders-guide/init-param",
    "chapter_builders-guide/lazy-init",
    "chapter_builders-guide/custom-layer",
    "chapter_builders-guide/read-write",
    "chapter_builders-guide/use-gpu",
    "chapter_convolutional-neural-networks/conv-layer",
    "chapter_convolutional-neural-networks/padding-and-strides",
    "chapter_convolutional-neural-networks/channels",
    "chapter_convolutional-neural-networks/pooling",
    "chapter_convolutional-neural-networks/lenet",
    "chapter_convolutional-modern/batch-norm",
    "chapter_convolutional-modern/resnet",
    "chapter_convolutional-modern/vgg",
    "chapter_convolutional-modern/nin",
    "chapter_recurrent-neural-networks/rnn-scratch",
    "chapter_recurrent-neural-networks/rnn-concise",
    "chapter_recurrent-modern/lstm",
    "chapter_recurrent-modern/gru",
    "chapter_recurrent-modern/deep-rnn",
    "chapter_recurrent-modern/bi-rnn",
]

# The book's import line -> the vendored one (whole lines, leading spaces kept).
IMPORTS = {
    "import torch": "import chainrule as torch",
    "from torch import nn": "from chainrule import nn",
    "from torch.nn import functional as F": "from chainrule.nn import functional as F",
    "from d2l import torch as d2l": "import book_d2l as d2l",
    "import torchvision": "from d2l_stubs import torchvision",
    "from torchvision import transforms": "from d2l_stubs import transforms",
}
# The library's header, rewritten the same way; packages CI lacks come from the stubs.
LIBRARY_IMPORTS = {
    **IMPORTS,
    "import pandas as pd": "from d2l_stubs import pd",
    "import requests": "from d2l_stubs import requests",
    "from IPython import display": "from d2l_stubs import display",
    "from matplotlib import pyplot as plt": "from d2l_stubs import plt",
    "from matplotlib_inline import backend_inline": "from d2l_stubs import backend_inline",
    "from PIL import Image": "from d2l_stubs import Image",
    "from scipy.spatial import distance_matrix": "from d2l_stubs import distance_matrix",
    "from torch.utils import data": "from chainrule.utils import data",
}
# The inverse, for running a vendored file under PyTorch (torchvision stays stubbed).
BACK_TO_TORCH = {
    "import chainrule as torch": "import torch",
    "from chainrule import nn": "from torch import nn",
    "from chainrule.nn import functional as F": "from torch.nn import functional as F",
    "from chainrule.utils import data": "from torch.utils import data",
}

LIBRARY_STUBBED = "from d2l_stubs import show_images, download  # need matplotlib, the network"
CELL_START = re.compile(r"^```\{\.python \.input[^}]*\}\s*$")


def git_show(mirror: str, path: str) -> str:
    return subprocess.run(["git", "-C", mirror, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def code_cells(markdown: str):
    """The ``{.python .input}`` cells of a chapter, as lists of lines."""
    cells, current = [], None
    for line in markdown.splitlines():
        if current is None:
            if CELL_START.match(line):
                current = []
        elif line.startswith("```"):
            cells.append(current)
            current = None
        else:
            current.append(line)
    return cells


def runs_under_pytorch(cell) -> bool:
    first = cell[0].strip() if cell else ""
    if not first.startswith("%%tab"):
        return True
    tabs = {t.strip() for t in first[len("%%tab"):].split(",")}
    return "pytorch" in tabs or "all" in tabs


def rewrite_imports(lines, table, where):
    out = []
    for line in lines:
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped in table:
            out.append(indent + table[stripped])
        elif re.match(r"(import|from)\s+(torch|torchvision|d2l)\b", stripped):
            raise SystemExit(f"{where}: unreviewed import line {stripped!r}: add it to IMPORTS")
        else:
            out.append(line)
    return out


def section_source(mirror: str, section: str, commit: str) -> str:
    cells = [c for c in code_cells(git_show(mirror, section + ".md")) if runs_under_pytorch(c)]
    parts = [f"# The PyTorch code of d2l-en {section}.md (commit {commit}), MIT-0, vendored by\n"
             "# tests/book/extract.py: only import lines rewritten and IPython magics dropped.\n"]
    number = 0
    for cell in cells:
        body = [line for line in cell if not line.lstrip().startswith("%")]
        if any("tab.interact_select" in line for line in body):
            continue
        body = rewrite_imports(body, IMPORTS, section)
        while body and not body[-1].strip():
            body.pop()
        if not any(line.strip() for line in body):
            continue
        number += 1
        parts.append(f"# %% cell {number}\n" + "\n".join(body) + "\n")
    return "\n".join(parts)


def library_source(mirror: str, commit: str) -> str:
    lines = git_show(mirror, "d2l/torch.py").splitlines()
    first = lines.index("def use_svg_display():")
    stop = lines.index("class MTFraEng(d2l.DataModule):")
    aliases = lines.index("# Alias defined in config.ini")
    header = rewrite_imports(lines[:first], LIBRARY_IMPORTS, "d2l/torch.py")
    return (f"# d2l/torch.py of d2l-en (commit {commit}): its header, chapters 2 to 10 and its\n"
            "# aliases, MIT-0, vendored by tests/book/extract.py: only import lines rewritten.\n"
            + "\n".join(header + lines[first:stop] + lines[aliases:])
            + "\n\n" + LIBRARY_STUBBED + "\n")


def time_machine_text(n_chars: int = 40_000) -> str:
    """A stand-in for H. G. Wells' text: seeded random sentences over a small vocabulary that
    has every letter (the book's vocabulary of characters: 26 letters, space and <unk>)."""
    words = ("the quick brown fox jumps over a lazy dog "
             "the time machine traveller said that he had been in the future and had seen "
             "a world of strange people who lived above ground while others lived below "
             "in darkness and feared the light of day we listened to his story by the fire "
             "until late at night and then went home").split()
    rng = random.Random(15)
    sentences, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(5, 14)))
        sentence = sentence.capitalize() + "."
        sentences.append(sentence)
        size += len(sentence) + 1
    return "\n".join(sentences) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=MIRROR)
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", args.mirror, "rev-parse", "--short=8", "HEAD"],
                            check=True, capture_output=True, text=True).stdout.strip()
    for section in SECTIONS:
        path = OUT / (section + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(section_source(args.mirror, section, commit))
    (OUT / "d2l_torch.py").write_text(library_source(args.mirror, commit))
    (OUT / "timemachine.txt").write_text(time_machine_text())
    print(f"wrote {len(SECTIONS)} sections, d2l_torch.py and timemachine.txt to {OUT}")


if __name__ == "__main__":
    main()
