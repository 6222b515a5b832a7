"""``chainrule train``: it trains on scikit-learn's digits, prints each epoch and the test
accuracy, draws the curves, and fails clearly on bad arguments and missing packages."""

import importlib.util
import re
import sys

import pytest

from chainrule.__main__ import main
from tests.fresh_interpreter import run_python

pytest.importorskip("sklearn", reason="chainrule train needs scikit-learn "
                                      "(pip install 'chainrule[examples]')")

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAS_TQDM = importlib.util.find_spec("tqdm") is not None


def train(capsys, *args):
    status = main(["train", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def printed_test_accuracy(out: str) -> float:
    found = re.findall(r"^test accuracy: ([0-9.]+)%", out, flags=re.M)
    assert len(found) == 1, out
    return float(found[0]) / 100


def test_the_mlp_learns_the_digits(capsys):
    status, out, err = train(capsys, "--model", "mlp", "--no-progress", "--no-plot")
    assert status == 0, err
    assert "1258 training, 180 validation, 359 test images; model mlp" in out
    epochs = re.findall(r"^epoch +(\d+)/15: train loss ([0-9.]+), accuracy ([0-9.]+)% \| "
                        r"validation loss ([0-9.]+), accuracy ([0-9.]+)%", out, flags=re.M)
    assert [int(e[0]) for e in epochs] == list(range(1, 16))
    losses = [float(e[1]) for e in epochs]
    assert losses[-1] < losses[0] / 10  # it learns: the training loss falls by over 10x
    assert float(epochs[-1][4]) > 90  # validation accuracy at the end
    assert printed_test_accuracy(out) > 0.95


def test_a_short_run_is_reproducible_with_its_seed(capsys):
    runs = [train(capsys, "--model", "mlp",
                  "--epochs", "2", "--seed", "3", "--no-progress", "--no-plot")
            for _ in range(2)]
    other = train(capsys, "--model", "mlp",
                  "--epochs", "2", "--seed", "4", "--no-progress", "--no-plot")
    strip = lambda out: re.sub(r"\([0-9.]+ s\)|in [0-9.]+ s", "", out)  # times differ
    assert runs[0][0] == runs[1][0] == other[0] == 0
    assert strip(runs[0][1]) == strip(runs[1][1])
    assert strip(runs[0][1]) != strip(other[1])


def test_options_reach_the_training(capsys):
    status, out, _ = train(capsys, "--model", "mlp",
                           "--epochs", "2", "--batch-size", "64", "--lr", "0.2",
                           "--no-progress", "--no-plot")
    assert status == 0
    assert "2 epochs, batch size 64, SGD lr 0.2 momentum 0.9" in out
    assert re.search(r"^epoch 2/2: ", out, flags=re.M)
    assert printed_test_accuracy(out) > 0.7


@pytest.mark.skipif(not HAS_TQDM,
                    reason="tqdm is not installed (pip install 'chainrule[examples]')")
def test_progress_bars_show_loss_and_accuracy(capsys):
    status, out, _ = train(capsys, "--model", "mlp", "--epochs", "2", "--no-plot")
    assert status == 0
    # tqdm draws on stdout; each epoch's finished bar stays, with the validation figures
    bars = re.findall(r"epoch ([12])/2: 100%[^\n\r]*40/40 [^\n\r]*loss=([0-9.]+), "
                      r"acc=([0-9.]+)%, val_loss=([0-9.]+), val_acc=([0-9.]+)%\]", out)
    assert [b[0] for b in bars] == ["1", "2"], out
    assert float(bars[1][1]) < float(bars[0][1])  # the second epoch's loss is lower
    assert "train loss" not in out  # (the lines of --no-progress)
    assert printed_test_accuracy(out) > 0.8


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed "
                                               "(pip install 'chainrule[examples]')")
def test_the_plot_is_written(capsys, tmp_path):
    path = tmp_path / "curves.png"
    status, out, _ = train(capsys, "--model", "mlp",
                           "--epochs", "2", "--no-progress", "--plot", str(path))
    assert status == 0
    assert f"plot of the training and validation curves: {path}" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_model_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "resnet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --model: invalid choice: 'resnet'" in err and "'mlp'" in err


@pytest.mark.parametrize("args,message", [
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--batch-size", "-1"], "--batch-size must be at least 1, got -1"),
    (["--lr", "0"], "--lr must be a positive number, got 0.0"),
    (["--lr", "nan"], "--lr must be a positive number, got nan"),
])
def test_bad_numbers_give_one_line(capsys, args, message):
    status, out, err = train(capsys, "--model", "mlp", *args)
    assert status == 2
    assert err == f"chainrule train: error: {message}\n"
    assert out == ""


def test_the_cnn_is_the_default_and_passes_97_percent(capsys):
    status, out, err = train(capsys, "--no-progress", "--no-plot")
    assert status == 0, err
    assert "model cnn" in out
    assert printed_test_accuracy(out) > 0.97


def test_without_scikit_learn_it_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # importing it raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    status, out, err = train(capsys, "--model", "mlp", "--epochs", "1", "--no-plot")
    assert status == 1
    assert out == ""
    assert err == ("chainrule train: error: the digits come from scikit-learn, which is not "
                   "installed; install the examples' packages with: "
                   "pip install 'chainrule[examples]'\n")


def test_without_tqdm_or_matplotlib_it_still_trains(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    path = tmp_path / "curves.png"
    status, out, err = train(capsys, "--model", "mlp", "--epochs", "1", "--plot", str(path))
    assert status == 0
    assert re.search(r"^epoch 1/1: train loss", out, flags=re.M)
    assert "test accuracy: " in out
    assert err.splitlines() == [
        "chainrule train: tqdm is not installed (pip install 'chainrule[examples]'): one line "
        "per epoch instead of progress bars",
        "chainrule train: no plot: matplotlib is not installed "
        "(pip install 'chainrule[examples]')"]
    assert not path.exists()


def test_importing_chainrule_imports_none_of_the_examples_packages():
    done = run_python("-c", "import sys, chainrule, chainrule.__main__, chainrule.train; "
                            "print(sorted(m for m in ('sklearn', 'tqdm', 'matplotlib', 'rich') "
                            "if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
