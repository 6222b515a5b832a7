"""Tests for ``chainrule._format.format_tensor``, checked against PyTorch's own ``repr``.

Every expected string in ``PYTORCH_CASES`` was produced by torch 2.13.0 (CPU build) by calling
``repr`` on ``torch.from_numpy`` of the same values. Where PyTorch shows a ``dtype=`` suffix,
``dtype_name`` is the ``str`` of the torch dtype; ``grad_fn_name`` names the backward node of a
value-preserving operation (``t * 1``, ``t + 0``, ``t.clone()``, ...); ``prefix`` stands for a
``torch.Tensor`` subclass of that name. Torch itself is not needed to run these tests.

The longest expected strings (the summarized cube and 4-d tensors, and the 1000-element vector
just under the summarizing threshold) are kept as plain text in ``tests/data/format/``, one file
per case named after its id, exactly as ``repr`` prints them.
"""

from pathlib import Path

import numpy as np
import pytest

from chainrule._format import format_tensor

DATA = Path(__file__).resolve().parent.parent / "data" / "format"


def _expected(case_id: str) -> str:
    """The expected text of case ``case_id``, from ``tests/data/format/<case_id>.txt`` (the
    file ends with one newline, which is not part of the text)."""
    text = (DATA / f"{case_id}.txt").read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n"), case_id
    return text[:-1]


# (values, keyword arguments for format_tensor, expected text)
# fmt: off
PYTORCH_CASES = [
    pytest.param(
        np.array(28.0, dtype=np.float32),
        {},
        "tensor(28.)",
        id="scalar-integral",
    ),
    pytest.param(
        np.array(1579.7686, dtype=np.float32),
        {},
        "tensor(1579.7686)",
        id="scalar-fraction",
    ),
    pytest.param(
        np.array(True),
        {},
        "tensor(True)",
        id="scalar-bool",
    ),
    pytest.param(
        np.array(0.1, dtype=np.float32),
        {},
        "tensor(0.1000)",
        id="scalar-tenth",
    ),
    pytest.param(
        np.array(-5, dtype=np.int64),
        {},
        "tensor(-5)",
        id="scalar-int-negative",
    ),
    pytest.param(
        np.array(np.nan, dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor(nan, dtype=torch.float64)",
        id="scalar-nan-float64",
    ),
    pytest.param(
        np.float32(3.5),
        {},
        "tensor(3.5000)",
        id="scalar-numpy-generic",
    ),
    pytest.param(
        np.array(1e-5, dtype=np.float32),
        {},
        "tensor(1.0000e-05)",
        id="scalar-tiny-sci",
    ),
    pytest.param(
        np.array(-0.0, dtype=np.float32),
        {},
        "tensor(-0.)",
        id="scalar-negative-zero",
    ),
    pytest.param(
        np.array(28.0, dtype=np.float32),
        {"grad_fn_name": "MulBackward0"},
        "tensor(28., grad_fn=<MulBackward0>)",
        id="scalar-grad-fn",
    ),
    pytest.param(
        np.int32(7),
        {"dtype_name": "torch.int32"},
        "tensor(7, dtype=torch.int32)",
        id="scalar-int32",
    ),
    pytest.param(
        np.array(9.99996, dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor(10.0000, dtype=torch.float64)",
        id="scalar-rounds-up",
    ),
    pytest.param(
        np.arange(4, dtype=np.float32),
        {},
        "tensor([0., 1., 2., 3.])",
        id="vector-arange",
    ),
    pytest.param(
        np.array([0.0, 4.0, 8.0, 12.0], dtype=np.float32),
        {},
        "tensor([ 0.,  4.,  8., 12.])",
        id="vector-padded",
    ),
    pytest.param(
        np.array([1.0, 2.0], dtype=np.float32),
        {"requires_grad": True},
        "tensor([1., 2.], requires_grad=True)",
        id="vector-requires-grad",
    ),
    pytest.param(
        np.ones(4, dtype=np.bool_),
        {},
        "tensor([True, True, True, True])",
        id="vector-bool-true",
    ),
    pytest.param(
        np.array([True, False, True]),
        {},
        "tensor([ True, False,  True])",
        id="vector-bool-mixed",
    ),
    pytest.param(
        np.array([-0.9899925, 0.0707372, 1.0, 0.0707372, -0.9899925], dtype=np.float32),
        {},
        "tensor([-0.9900,  0.0707,  1.0000,  0.0707, -0.9900])",
        id="vector-cosine",
    ),
    pytest.param(
        np.arange(4),
        {},
        "tensor([0, 1, 2, 3])",
        id="vector-int64",
    ),
    pytest.param(
        np.array([1e-5, 1.0], dtype=np.float32),
        {},
        "tensor([1.0000e-05, 1.0000e+00])",
        id="vector-sci-small",
    ),
    pytest.param(
        np.arange(30, dtype=np.float32) / 7,
        {},
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
        "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n"
        "        3.8571, 4.0000, 4.1429])",
        id="vector-wraps",
    ),
    pytest.param(
        np.arange(-50, 50, 3),
        {},
        "tensor([-50, -47, -44, -41, -38, -35, -32, -29, -26, -23, -20, -17, -14, -11,\n"
        "         -8,  -5,  -2,   1,   4,   7,  10,  13,  16,  19,  22,  25,  28,  31,\n"
        "         34,  37,  40,  43,  46,  49])",
        id="vector-int-wraps",
    ),
    pytest.param(
        np.array(
            [-0.8552002, -4.2878575, -28.734865, 32.451614, 1.4668388, 13.115754, 3.5092552,
             -7.2044697, 8.165373],
            dtype=np.float32,
        ),
        {},
        "tensor([ -0.8552,  -4.2879, -28.7349,  32.4516,   1.4668,  13.1158,   3.5093,\n"
        "         -7.2045,   8.1654])",
        id="vector-negative",
    ),
    pytest.param(
        np.array([np.nan, np.inf, -np.inf, 1.5], dtype=np.float32),
        {},
        "tensor([   nan,    inf,   -inf, 1.5000])",
        id="vector-nonfinite-fraction",
    ),
    pytest.param(
        np.array([np.nan, 2.0, -np.inf, 10.0], dtype=np.float32),
        {},
        "tensor([nan,  2., -inf, 10.])",
        id="vector-nonfinite-integral",
    ),
    pytest.param(
        np.array([np.nan, np.inf, -np.inf], dtype=np.float32),
        {},
        "tensor([nan, inf, -inf])",
        id="vector-nonfinite-only",
    ),
    pytest.param(
        np.array([np.nan, 1e-6, -np.inf, 3.0], dtype=np.float32),
        {},
        "tensor([       nan, 1.0000e-06,       -inf, 3.0000e+00])",
        id="vector-nonfinite-sci",
    ),
    pytest.param(
        np.zeros(3, dtype=np.float32),
        {},
        "tensor([0., 0., 0.])",
        id="vector-zeros",
    ),
    pytest.param(
        np.array([0.0, -0.0, 0.0], dtype=np.float32),
        {},
        "tensor([0., -0., 0.])",
        id="vector-zeros-signed",
    ),
    pytest.param(
        np.array([0.0, -0.0, 0.25, -1.5], dtype=np.float32),
        {},
        "tensor([ 0.0000, -0.0000,  0.2500, -1.5000])",
        id="vector-zero-with-values",
    ),
    pytest.param(
        np.array([1.0, 2000.5], dtype=np.float32),
        {},
        "tensor([1.0000e+00, 2.0005e+03])",
        id="vector-ratio-sci",
    ),
    pytest.param(
        np.array([1.0, -5000.0, 3.0], dtype=np.float32),
        {},
        "tensor([ 1.0000e+00, -5.0000e+03,  3.0000e+00])",
        id="vector-integral-ratio-sci",
    ),
    pytest.param(
        np.array([1e9, 1.0], dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor([1.0000e+09, 1.0000e+00], dtype=torch.float64)",
        id="vector-integral-huge",
    ),
    pytest.param(
        np.array([12345678.0, -1.0, 20000.0], dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor([ 1.2346e+07, -1.0000e+00,  2.0000e+04], dtype=torch.float64)",
        id="vector-integral-large",
    ),
    pytest.param(
        np.array([99999999.5, 12345.25], dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor([1.0000e+08, 1.2345e+04], dtype=torch.float64)",
        id="vector-fraction-large",
    ),
    pytest.param(
        np.array([0.1, 0.2, 1000.0], dtype=np.float16),
        {"dtype_name": "torch.float16"},
        "tensor([9.9976e-02, 1.9995e-01, 1.0000e+03], dtype=torch.float16)",
        id="vector-float16",
    ),
    pytest.param(
        np.array([1.0, -2.0, 2048.0], dtype=np.float16),
        {"dtype_name": "torch.float16"},
        "tensor([ 1.0000e+00, -2.0000e+00,  2.0480e+03], dtype=torch.float16)",
        id="vector-float16-integral",
    ),
    pytest.param(
        np.array([65504.0, 0.001, -0.5], dtype=np.float16),
        {"dtype_name": "torch.float16"},
        "tensor([ 6.5504e+04,  1.0004e-03, -5.0000e-01], dtype=torch.float16)",
        id="vector-float16-sci",
    ),
    pytest.param(
        np.array([6e-08, 1.0], dtype=np.float16),
        {"dtype_name": "torch.float16"},
        "tensor([5.9605e-08, 1.0000e+00], dtype=torch.float16)",
        id="vector-float16-subnormal",
    ),
    pytest.param(
        np.array(
            [-2.117551, 0.293877, 0.563962, -0.978887, -1.001406, 0.571524],
            dtype=np.float64,
        ),
        {"dtype_name": "torch.float64"},
        "tensor([-2.1176,  0.2939,  0.5640, -0.9789, -1.0014,  0.5715],\n"
        "       dtype=torch.float64)",
        id="vector-float64",
    ),
    pytest.param(
        np.array([-3, 100, 7], dtype=np.int32),
        {"dtype_name": "torch.int32"},
        "tensor([ -3, 100,   7], dtype=torch.int32)",
        id="vector-int32",
    ),
    pytest.param(
        np.array([-128, 0, 127], dtype=np.int8),
        {"dtype_name": "torch.int8"},
        "tensor([-128,    0,  127], dtype=torch.int8)",
        id="vector-int8",
    ),
    pytest.param(
        np.arange(-40, 40, 5, dtype=np.int16),
        {"dtype_name": "torch.int16"},
        "tensor([-40, -35, -30, -25, -20, -15, -10,  -5,   0,   5,  10,  15,  20,  25,\n"
        "         30,  35], dtype=torch.int16)",
        id="vector-int16",
    ),
    pytest.param(
        np.array([0, 255, 3], dtype=np.uint8),
        {"dtype_name": "torch.uint8"},
        "tensor([  0, 255,   3], dtype=torch.uint8)",
        id="vector-uint8",
    ),
    pytest.param(
        np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
        {},
        "tensor([-9223372036854775808,                    0,  9223372036854775807])",
        id="vector-int64-extremes",
    ),
    pytest.param(
        np.array([9.99996, 0.5, -99.99995], dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor([ 10.0000,   0.5000, -99.9999], dtype=torch.float64)",
        id="vector-rounding-widths",
    ),
    pytest.param(
        np.array(
            [0.005923842, -11419.068, -0.14414287, 20.934816, 51.31749, 0.29452145, -1168.1115,
             -0.08886145, -0.005583506, -5.5870078e-05, -5.7349814e-07, 20579.957, 57821.402,
             -141.7472, 4.6642813e-06, -1.9518056e-05, -8.602778e-07, -3830.3423, 0.884486,
             -124.89265],
            dtype=np.float32,
        ),
        {},
        "tensor([ 5.9238e-03, -1.1419e+04, -1.4414e-01,  2.0935e+01,  5.1317e+01,\n"
        "         2.9452e-01, -1.1681e+03, -8.8861e-02, -5.5835e-03, -5.5870e-05,\n"
        "        -5.7350e-07,  2.0580e+04,  5.7821e+04, -1.4175e+02,  4.6643e-06,\n"
        "        -1.9518e-05, -8.6028e-07, -3.8303e+03,  8.8449e-01, -1.2489e+02])",
        id="vector-sci-wraps",
    ),
    pytest.param(
        np.array(
            [-178.206675, 100.055105, -8.951357, -38.724261, -35.512706, 113.610715, 10.970196,
             126.606159, 184.705143, -155.326672, 28.460577, 45.694915, 223.537625, 45.639975,
             128.204024, -113.893089, 27.06044, 24.184049, 63.413108, -101.38612, -71.565322,
             -59.323777, -72.3945, 28.454548, 8.501136],
            dtype=np.float64,
        ),
        {"dtype_name": "torch.float64"},
        "tensor([-178.2067,  100.0551,   -8.9514,  -38.7243,  -35.5127,  113.6107,\n"
        "          10.9702,  126.6062,  184.7051, -155.3267,   28.4606,   45.6949,\n"
        "         223.5376,   45.6400,  128.2040, -113.8931,   27.0604,   24.1840,\n"
        "          63.4131, -101.3861,  -71.5653,  -59.3238,  -72.3945,   28.4545,\n"
        "           8.5011], dtype=torch.float64)",
        id="vector-float64-wraps",
    ),
    pytest.param(
        np.array([-2.5], dtype=np.float32),
        {},
        "tensor([-2.5000])",
        id="vector-single-element",
    ),
    pytest.param(
        np.arange(2000),
        {},
        "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])",
        id="vector-summarized-int",
    ),
    pytest.param(
        np.arange(1001, dtype=np.float32) / 7,
        {},
        "tensor([  0.0000,   0.1429,   0.2857,  ..., 142.5714, 142.7143, 142.8571])",
        id="vector-summarized-float",
    ),
    pytest.param(
        np.concatenate([[1e-7], np.arange(1, 3000, dtype=np.float64)]),
        {"dtype_name": "torch.float64"},
        "tensor([1.0000e-07, 1.0000e+00, 2.0000e+00,  ..., 2.9970e+03, 2.9980e+03,\n"
        "        2.9990e+03], dtype=torch.float64)",
        id="vector-summarized-sci",
    ),
    pytest.param(
        np.arange(1500) % 3 == 0,
        {},
        "tensor([ True, False, False,  ...,  True, False, False])",
        id="vector-summarized-bool",
    ),
    pytest.param(
        np.concatenate([np.ones(3), np.full(1000, 1e9), np.ones(3)]).astype(np.float32),
        {},
        "tensor([1., 1., 1.,  ..., 1., 1., 1.])",
        id="vector-summarized-middle-ignored",
    ),
    pytest.param(
        np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32),
        {},
        "tensor([[1., 2.],\n"
        "        [3., 4.]])",
        id="matrix-small",
    ),
    pytest.param(
        np.arange(-6, 6).reshape(3, 4),
        {},
        "tensor([[-6, -5, -4, -3],\n"
        "        [-2, -1,  0,  1],\n"
        "        [ 2,  3,  4,  5]])",
        id="matrix-int-negative",
    ),
    pytest.param(
        np.array(
            [[0.56536895, 1.1460607, -2.0377069, -0.27446702, 0.17910367, -0.61745316,
             -2.1726358], [-0.97225946, -1.3189421, 0.2755303, -2.5257945, 0.4040414,
             -0.8099422, -0.6530789], [0.6122979, -0.08909268, 1.0358841, -1.5245371,
             -1.1411643, 0.26962116, 0.40754303], [-0.06980712, -0.20759171, -0.8237802,
             0.712183, 0.87057084, -1.6407195, -0.7658201], [0.42600033, -0.92477965,
             0.15910323, -0.5704381, 1.5315952, -0.060261205, 1.8751427]],
            dtype=np.float32,
        ),
        {},
        "tensor([[ 0.5654,  1.1461, -2.0377, -0.2745,  0.1791, -0.6175, -2.1726],\n"
        "        [-0.9723, -1.3189,  0.2755, -2.5258,  0.4040, -0.8099, -0.6531],\n"
        "        [ 0.6123, -0.0891,  1.0359, -1.5245, -1.1412,  0.2696,  0.4075],\n"
        "        [-0.0698, -0.2076, -0.8238,  0.7122,  0.8706, -1.6407, -0.7658],\n"
        "        [ 0.4260, -0.9248,  0.1591, -0.5704,  1.5316, -0.0603,  1.8751]])",
        id="matrix-random",
    ),
    pytest.param(
        (np.arange(80, dtype=np.float32) / 3).reshape(4, 20),
        {},
        "tensor([[ 0.0000,  0.3333,  0.6667,  1.0000,  1.3333,  1.6667,  2.0000,  2.3333,\n"
        "          2.6667,  3.0000,  3.3333,  3.6667,  4.0000,  4.3333,  4.6667,  5.0000,\n"
        "          5.3333,  5.6667,  6.0000,  6.3333],\n"
        "        [ 6.6667,  7.0000,  7.3333,  7.6667,  8.0000,  8.3333,  8.6667,  9.0000,\n"
        "          9.3333,  9.6667, 10.0000, 10.3333, 10.6667, 11.0000, 11.3333, 11.6667,\n"
        "         12.0000, 12.3333, 12.6667, 13.0000],\n"
        "        [13.3333, 13.6667, 14.0000, 14.3333, 14.6667, 15.0000, 15.3333, 15.6667,\n"
        "         16.0000, 16.3333, 16.6667, 17.0000, 17.3333, 17.6667, 18.0000, 18.3333,\n"
        "         18.6667, 19.0000, 19.3333, 19.6667],\n"
        "        [20.0000, 20.3333, 20.6667, 21.0000, 21.3333, 21.6667, 22.0000, 22.3333,\n"
        "         22.6667, 23.0000, 23.3333, 23.6667, 24.0000, 24.3333, 24.6667, 25.0000,\n"
        "         25.3333, 25.6667, 26.0000, 26.3333]])",
        id="matrix-wide-rows",
    ),
    pytest.param(
        np.array([[True, False], [False, False]]),
        {},
        "tensor([[ True, False],\n"
        "        [False, False]])",
        id="matrix-bool",
    ),
    pytest.param(
        np.arange(5, dtype=np.float32).reshape(5, 1) * 1e-3,
        {},
        "tensor([[0.0000],\n"
        "        [0.0010],\n"
        "        [0.0020],\n"
        "        [0.0030],\n"
        "        [0.0040]])",
        id="matrix-column",
    ),
    pytest.param(
        (np.arange(2000, dtype=np.float32) / 9).reshape(40, 50),
        {},
        "tensor([[0.0000e+00, 1.1111e-01, 2.2222e-01,  ..., 5.2222e+00, 5.3333e+00,\n"
        "         5.4444e+00],\n"
        "        [5.5556e+00, 5.6667e+00, 5.7778e+00,  ..., 1.0778e+01, 1.0889e+01,\n"
        "         1.1000e+01],\n"
        "        [1.1111e+01, 1.1222e+01, 1.1333e+01,  ..., 1.6333e+01, 1.6444e+01,\n"
        "         1.6556e+01],\n"
        "        ...,\n"
        "        [2.0556e+02, 2.0567e+02, 2.0578e+02,  ..., 2.1078e+02, 2.1089e+02,\n"
        "         2.1100e+02],\n"
        "        [2.1111e+02, 2.1122e+02, 2.1133e+02,  ..., 2.1633e+02, 2.1644e+02,\n"
        "         2.1656e+02],\n"
        "        [2.1667e+02, 2.1678e+02, 2.1689e+02,  ..., 2.2189e+02, 2.2200e+02,\n"
        "         2.2211e+02]])",
        id="matrix-summarized",
    ),
    pytest.param(
        np.arange(2000).reshape(2, 1000),
        {},
        "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
        "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])",
        id="matrix-summarized-short-rows",
    ),
    pytest.param(
        np.arange(2000, dtype=np.float64).reshape(1000, 2) - 1000,
        {"dtype_name": "torch.float64"},
        "tensor([[-1000.,  -999.],\n"
        "        [ -998.,  -997.],\n"
        "        [ -996.,  -995.],\n"
        "        ...,\n"
        "        [  994.,   995.],\n"
        "        [  996.,   997.],\n"
        "        [  998.,   999.]], dtype=torch.float64)",
        id="matrix-summarized-short-columns",
    ),
    pytest.param(
        (np.arange(1200) % 11 - 5).astype(np.float16).reshape(30, 40) / 4,
        {"dtype_name": "torch.float16"},
        "tensor([[-1.2500, -1.0000, -0.7500,  ..., -0.2500,  0.0000,  0.2500],\n"
        "        [ 0.5000,  0.7500,  1.0000,  ..., -1.2500, -1.0000, -0.7500],\n"
        "        [-0.5000, -0.2500,  0.0000,  ...,  0.5000,  0.7500,  1.0000],\n"
        "        ...,\n"
        "        [-0.7500, -0.5000, -0.2500,  ...,  0.2500,  0.5000,  0.7500],\n"
        "        [ 1.0000,  1.2500, -1.2500,  ..., -0.7500, -0.5000, -0.2500],\n"
        "        [ 0.0000,  0.2500,  0.5000,  ...,  1.0000,  1.2500, -1.2500]],\n"
        "       dtype=torch.float16)",
        id="matrix-summarized-float16",
    ),
    pytest.param(
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        {},
        "tensor([[[ 0.,  1.,  2.,  3.],\n"
        "         [ 4.,  5.,  6.,  7.],\n"
        "         [ 8.,  9., 10., 11.]],\n"
        "\n"
        "        [[12., 13., 14., 15.],\n"
        "         [16., 17., 18., 19.],\n"
        "         [20., 21., 22., 23.]]])",
        id="cube-small",
    ),
    pytest.param(
        np.arange(12, dtype=np.int32).reshape(3, 2, 2) * -7,
        {"dtype_name": "torch.int32"},
        "tensor([[[  0,  -7],\n"
        "         [-14, -21]],\n"
        "\n"
        "        [[-28, -35],\n"
        "         [-42, -49]],\n"
        "\n"
        "        [[-56, -63],\n"
        "         [-70, -77]]], dtype=torch.int32)",
        id="cube-int",
    ),
    pytest.param(
        np.array(
            [[[0.218439, 0.729121, 0.129045], [0.678291, 0.918231, -0.881226]], [[0.70757,
             -0.068358, -2.39018], [-0.166067, -1.406287, 0.208003]]],
            dtype=np.float64,
        ),
        {"dtype_name": "torch.float64"},
        "tensor([[[ 0.2184,  0.7291,  0.1290],\n"
        "         [ 0.6783,  0.9182, -0.8812]],\n"
        "\n"
        "        [[ 0.7076, -0.0684, -2.3902],\n"
        "         [-0.1661, -1.4063,  0.2080]]], dtype=torch.float64)",
        id="cube-random",
    ),
    pytest.param(
        (np.arange(2000, dtype=np.float32) - 1000).reshape(10, 10, 20) / 8,
        {},
        _expected("cube-summarized"),
        id="cube-summarized",
    ),
    pytest.param(
        np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2),
        {},
        "tensor([[[[ 0.,  1.],\n"
        "          [ 2.,  3.]],\n"
        "\n"
        "         [[ 4.,  5.],\n"
        "          [ 6.,  7.]]],\n"
        "\n"
        "\n"
        "        [[[ 8.,  9.],\n"
        "          [10., 11.]],\n"
        "\n"
        "         [[12., 13.],\n"
        "          [14., 15.]]]])",
        id="four-d",
    ),
    pytest.param(
        np.arange(4096, dtype=np.float64).reshape(8, 8, 8, 8) * 0.5,
        {"dtype_name": "torch.float64"},
        _expected("four-d-summarized"),
        id="four-d-summarized",
    ),
    pytest.param(
        np.arange(4096, dtype=np.float64).reshape(8, 8, 8, 8) * 0.5,
        {"dtype_name": "torch.float64", "grad_fn_name": "MulBackward0"},
        _expected("four-d-summarized-grad"),
        id="four-d-summarized-grad",
    ),
    pytest.param(
        np.zeros(0, dtype=np.float32),
        {},
        "tensor([])",
        id="empty-vector",
    ),
    pytest.param(
        np.zeros((0, 3), dtype=np.float32),
        {},
        "tensor([], size=(0, 3))",
        id="empty-matrix",
    ),
    pytest.param(
        np.zeros(0, dtype=np.int64),
        {"dtype_name": "torch.int64"},
        "tensor([], dtype=torch.int64)",
        id="empty-int",
    ),
    pytest.param(
        np.zeros((2, 0, 3), dtype=np.float64),
        {"dtype_name": "torch.float64"},
        "tensor([], size=(2, 0, 3), dtype=torch.float64)",
        id="empty-cube-float64",
    ),
    pytest.param(
        np.zeros((0, 3), dtype=np.float32),
        {"requires_grad": True},
        "tensor([], size=(0, 3), requires_grad=True)",
        id="empty-requires-grad",
    ),
    pytest.param(
        np.zeros(0, dtype=np.float64),
        {"dtype_name": "torch.float64", "grad_fn_name": "CloneBackward0"},
        "tensor([], dtype=torch.float64, grad_fn=<CloneBackward0>)",
        id="empty-grad-fn",
    ),
    pytest.param(
        np.array([1.0, 2.0], dtype=np.float64),
        {"dtype_name": "torch.float64", "requires_grad": True},
        "tensor([1., 2.], dtype=torch.float64, requires_grad=True)",
        id="suffix-dtype-requires-grad",
    ),
    pytest.param(
        np.array([[1.5, 2.0], [3.0, 4.0]], dtype=np.float64),
        {"dtype_name": "torch.float64", "grad_fn_name": "AddBackward0"},
        "tensor([[1.5000, 2.0000],\n"
        "        [3.0000, 4.0000]], dtype=torch.float64, grad_fn=<AddBackward0>)",
        id="suffix-dtype-grad-fn",
    ),
    pytest.param(
        np.array([0.5, 2.0], dtype=np.float16),
        {"dtype_name": "torch.float16", "grad_fn_name": "ViewBackward0"},
        "tensor([0.5000, 2.0000], dtype=torch.float16, grad_fn=<ViewBackward0>)",
        id="suffix-float16-grad-fn",
    ),
    pytest.param(
        np.arange(20, dtype=np.float32) / 3,
        {"requires_grad": True},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
        "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
        "        6.0000, 6.3333], requires_grad=True)",
        id="suffix-after-long-vector",
    ),
    pytest.param(
        np.arange(10, dtype=np.float32) - 4.5,
        {"grad_fn_name": "MulBackward0"},
        "tensor([-4.5000, -3.5000, -2.5000, -1.5000, -0.5000,  0.5000,  1.5000,  2.5000,\n"
        "         3.5000,  4.5000], grad_fn=<MulBackward0>)",
        id="suffix-grad-fn-breaks",
    ),
    pytest.param(
        np.arange(7, dtype=np.float64) * 1.125 - 10,
        {"dtype_name": "torch.float64", "requires_grad": True},
        "tensor([-10.0000,  -8.8750,  -7.7500,  -6.6250,  -5.5000,  -4.3750,  -3.2500],\n"
        "       dtype=torch.float64, requires_grad=True)",
        id="suffix-both-break",
    ),
    pytest.param(
        np.arange(8, dtype=np.float64) + 0.25,
        {"dtype_name": "torch.float64", "grad_fn_name": "MulBackward0"},
        "tensor([0.2500, 1.2500, 2.2500, 3.2500, 4.2500, 5.2500, 6.2500, 7.2500],\n"
        "       dtype=torch.float64, grad_fn=<MulBackward0>)",
        id="suffix-dtype-breaks",
    ),
    pytest.param(
        np.arange(30, dtype=np.float64) / 7,
        {"dtype_name": "torch.float64", "grad_fn_name": "NegBackward0"},
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
        "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n"
        "        3.8571, 4.0000, 4.1429], dtype=torch.float64, grad_fn=<NegBackward0>)",
        id="suffix-after-wrapped-lines",
    ),
    pytest.param(
        np.arange(100000, 100014, dtype=np.int32),
        {"dtype_name": "torch.int32"},
        "tensor([100000, 100001, 100002, 100003, 100004, 100005, 100006, 100007, 100008,\n"
        "        100009, 100010, 100011, 100012, 100013], dtype=torch.int32)",
        id="suffix-int-dtype-breaks",
    ),
    pytest.param(
        np.arange(9, dtype=np.float32) / 3,
        {"requires_grad": True},
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667],\n"
        "       requires_grad=True)",
        id="suffix-requires-grad-breaks-first-line",
    ),
    pytest.param(
        np.arange(4, dtype=np.float64) + 0.25,
        {"dtype_name": "torch.float64", "grad_fn_name": "MulBackward0"},
        "tensor([0.2500, 1.2500, 2.2500, 3.2500], dtype=torch.float64,\n"
        "       grad_fn=<MulBackward0>)",
        id="suffix-dtype-fits-grad-fn-breaks",
    ),
    pytest.param(
        np.arange(100, 111, dtype=np.int32),
        {"dtype_name": "torch.int32", "prefix": "Sub("},
        "Sub([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110], dtype=torch.int32)",
        id="suffix-exactly-fits",
    ),
    pytest.param(
        np.arange(10, 24, dtype=np.int32),
        {"dtype_name": "torch.int32", "prefix": "Sub("},
        "Sub([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23],\n"
        "    dtype=torch.int32)",
        id="suffix-one-past-fits",
    ),
    pytest.param(
        (np.arange(14, dtype=np.float64) / 3).reshape(2, 7),
        {"dtype_name": "torch.float64", "requires_grad": True},
        "tensor([[0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000],\n"
        "        [2.3333, 2.6667, 3.0000, 3.3333, 3.6667, 4.0000, 4.3333]],\n"
        "       dtype=torch.float64, requires_grad=True)",
        id="suffix-multiline-last-line-breaks",
    ),
    pytest.param(
        np.arange(1000) % 10,
        {},
        _expected("vector-threshold-not-summarized"),
        id="vector-threshold-not-summarized",
    ),
    pytest.param(
        np.arange(30, dtype=np.float32),
        {"prefix": "LongNamedTensorSubclass("},
        "LongNamedTensorSubclass([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10.,\n"
        "                         11., 12., 13., 14., 15., 16., 17., 18., 19., 20., 21.,\n"
        "                         22., 23., 24., 25., 26., 27., 28., 29.])",
        id="prefix-subclass",
    ),
    pytest.param(
        np.arange(6, dtype=np.float32).reshape(2, 3),
        {"requires_grad": True, "prefix": "Sub("},
        "Sub([[0., 1., 2.],\n"
        "     [3., 4., 5.]], requires_grad=True)",
        id="prefix-subclass-grad",
    ),
    pytest.param(
        np.array([1 + 2j, 3 - 4j, -0.5j], dtype=np.complex64),
        {},
        "tensor([1.+2.0000j, 3.-4.0000j, -0.-0.5000j])",
        id="complex-vector",
    ),
    pytest.param(
        np.array(1.5 - 2j, dtype=np.complex128),
        {"dtype_name": "torch.complex128"},
        "tensor(1.5000-2.j, dtype=torch.complex128)",
        id="complex-scalar",
    ),
    pytest.param(
        np.array([[1e-5 + 1j, 2 + 0j], [0 - 3e4j, np.nan + 1j]], dtype=np.complex64),
        {},
        "tensor([[1.0000e-05+1.0000e+00j, 2.0000e+00+0.0000e+00j],\n"
        "        [0.0000e+00-3.0000e+04j,        nan+1.0000e+00j]])",
        id="complex-matrix-sci",
    ),
]
# fmt: on


@pytest.mark.parametrize(("values", "options", "expected"), PYTORCH_CASES)
def test_matches_pytorch_repr(values, options, expected):
    assert format_tensor(values, **options) == expected


def test_float16_is_formatted_from_its_exact_values():
    half = (np.random.default_rng(7).standard_normal((4, 5)) * 50).astype(np.float16)
    assert format_tensor(half) == format_tensor(half.astype(np.float64))


def test_summarized_output_ignores_hidden_values():
    values = np.arange(3000, dtype=np.float32)
    altered = values.copy()
    altered[10:-10] = -1e30
    assert format_tensor(values) == format_tensor(altered)


def test_input_is_left_unchanged():
    values = np.array([[1.5, np.nan], [-0.0, 7.0]], dtype=np.float32)
    snapshot = values.copy()
    format_tensor(values, requires_grad=True)
    np.testing.assert_array_equal(values, snapshot)


def test_grad_fn_takes_precedence_over_requires_grad():
    text = format_tensor(np.array(2.0), requires_grad=True, grad_fn_name="SumBackward0")
    assert text == "tensor(2., grad_fn=<SumBackward0>)"


@pytest.mark.parametrize("values", [np.array(["a", "b"]), np.array([object()], dtype=object)])
def test_non_numeric_values_are_rejected(values):
    with pytest.raises(TypeError):
        format_tensor(values)
