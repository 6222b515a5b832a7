"""The ``DataLoader``'s fast path (``dataset.batch_of``): a ``TensorDataset`` (or a ``Subset``
of one) under ``default_collate`` is gathered with one index per tensor.  Its oracle is the
general path, per-sample ``__getitem__`` and ``default_collate``, which a ``collate_fn`` that
merely calls ``default_collate`` forces: both must give the same batches (values, dtypes,
shapes, classes, layout), in the same order, drawing the same random numbers."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
)
from tests.utils.helpers import plain


def general(batch):
    """default_collate behind another name: the loader then takes the general path."""
    return default_collate(batch)


def described(batches):
    """Batches as comparable Python, with what ``plain`` leaves out: class, strides,
    whether a gradient flows."""
    out = []
    for b in batches:
        assert isinstance(b, list)
        out.append([(type(t).__name__, t.detach().numpy().strides, t.requires_grad,
                     plain(t)) for t in b])
    return out


def _dataset(n=23):
    rng = np.random.default_rng(3)
    return TensorDataset(
        cr.tensor(rng.random((n, 4, 2), dtype=np.float32)),  # images
        cr.tensor(rng.integers(0, 10, n)),                   # int64 labels
        rng.random((n, 3)),                                  # a float64 ndarray
        np.asfortranarray(rng.integers(-5, 5, (n, 3)).astype(np.int32)),  # column-major
        rng.random(n) < 0.5,                                 # bool ndarray: NumPy scalars
        rng.random(n).astype(np.float16),
    )


def _same(make_loader, dataset):
    """The fast and the general loaders give equal batches; returns them."""
    fast = described(make_loader(dataset, None))
    slow = described(make_loader(dataset, general))
    assert fast == slow
    return fast


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (5, False), (5, True), (23, True),
                                                   (40, False)])
def test_sequential_batches_equal_the_general_path(batch_size, drop_last):
    batches = _same(lambda ds, c: DataLoader(ds, batch_size=batch_size, drop_last=drop_last,
                                             collate_fn=c), _dataset())
    assert len(batches) == (23 // batch_size if drop_last else -(-23 // batch_size))
    assert batches[0][0][3][2] == (min(batch_size, 23), 4, 2)


def test_shuffled_batches_and_generator_state_equal_the_general_path():
    states = []

    def make(ds, c):
        g = cr.Generator().manual_seed(11)
        out = [b for _ in range(2) for b in DataLoader(ds, batch_size=4, shuffle=True,
                                                       generator=g, collate_fn=c)]
        states.append(g.integers(0, 2**62))  # the same numbers drawn: the same state after
        return out

    batches = _same(make, _dataset())
    assert states[0] == states[1]
    labels = [row for b in batches[:6] for row in b[1][3][3]]
    assert sorted(labels) == sorted(_dataset().tensors[1].tolist())  # one permutation
    assert labels != _dataset().tensors[1].tolist()


def test_global_seed_shuffles_equal_the_general_path():
    def make(ds, c):
        cr.manual_seed(5)
        return list(DataLoader(ds, batch_size=3, shuffle=True, collate_fn=c))

    _same(make, _dataset())


@pytest.mark.parametrize("sampler", ["subset random", "weighted", "replacement", "list"])
def test_samplers_equal_the_general_path(sampler):
    def make(ds, c):
        g = cr.Generator().manual_seed(2)
        s = {"subset random": SubsetRandomSampler([3, 0, 22, 7, 7, 1], generator=g),
             "weighted": WeightedRandomSampler(np.arange(23.0), 30, generator=g),
             "replacement": RandomSampler(ds, replacement=True, num_samples=17, generator=g),
             "list": [np.int64(4), 2, -1, np.int32(0), -23]}[sampler]
        return list(DataLoader(ds, batch_size=4, sampler=s, collate_fn=c))

    _same(make, _dataset())


def test_batch_sampler_equals_the_general_path():
    batches = [[5, 1, 1], [0], [-2, 22, 3, 4]]
    got = _same(lambda ds, c: DataLoader(ds, batch_sampler=batches, collate_fn=c), _dataset())
    assert [len(b[1][3][3]) for b in got] == [3, 1, 4]
    assert BatchSampler(range(5), 2, False)  # (a BatchSampler works as well: used above)


def test_subsets_equal_the_general_path():
    ds = _dataset()
    inner = Subset(ds, np.array([9, 3, 0, 22, 5, 6, 7, 1]))  # ndarray indices: NumPy ints
    outer = Subset(inner, [7, 0, 2, 2, -1])
    for subset in (inner, outer):
        _same(lambda d, c: DataLoader(d, batch_size=3, collate_fn=c), subset)
    batch = next(iter(DataLoader(outer, batch_size=5)))
    assert batch[1].tolist() == ds.tensors[1][[1, 9, 0, 0, 1]].tolist()


def test_views_and_tensors_that_require_grad_equal_the_general_path():
    base = cr.arange(60.0).reshape(20, 3)
    w = cr.ones(20, 2, requires_grad=True)
    ds = TensorDataset(base[:, 1:], base[::-1, 0], w * 2)
    batches = _same(lambda d, c: DataLoader(d, batch_size=6, collate_fn=c), ds)
    assert batches[0][2][2] is True  # the batch of w * 2 carries its gradient
    fast = next(iter(DataLoader(ds, batch_size=6)))
    fast[2].sum().backward()
    assert w.grad[:6].tolist() == [[2.0, 2.0]] * 6 and w.grad[6:].sum().item() == 0.0


def test_a_stale_view_equals_the_general_path():
    base = cr.arange(12.0).reshape(6, 2)
    view = base[:, 0]
    base.add_(1.0)  # in place: the view's history is stale, its values are not
    _same(lambda d, c: DataLoader(d, batch_size=4, collate_fn=c), TensorDataset(view))


@pytest.mark.parametrize("index", [23, -24, True, "x", cr.tensor(1), slice(0, 2)])
def test_bad_and_unusual_indices_behave_as_the_general_path(index):
    def fetch(c):
        loader = DataLoader(_dataset(), batch_sampler=[[0, index]], collate_fn=c)
        try:
            return ("ok", described(loader))
        except Exception as err:  # noqa: BLE001 (the error is what is compared)
            return (type(err).__name__, str(err))

    assert fetch(None) == fetch(general)


def test_the_fast_path_makes_no_view_per_sample(monkeypatch):
    calls = []
    index = cr.Tensor.__getitem__

    def counting(self, i):
        calls.append(i)
        return index(self, i)

    monkeypatch.setattr(cr.Tensor, "__getitem__", counting)
    ds = TensorDataset(cr.arange(10.0), cr.arange(10))
    assert [b[1].tolist() for b in DataLoader(ds, batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                                    [8, 9]]
    assert calls == []
    list(DataLoader(ds, batch_size=4, collate_fn=general))
    assert len(calls) == 20  # (the counter works: the general path indexes per sample)


def test_a_custom_collate_fn_gets_the_samples():
    ds = TensorDataset(cr.arange(6.0), cr.arange(6))
    seen = []
    loader = DataLoader(ds, batch_size=4, collate_fn=lambda samples: seen.append(samples) or 0)
    assert list(loader) == [0, 0]
    assert [len(s) for s in seen] == [4, 2]
    assert all(isinstance(s, tuple) and s[0].shape == () for s in seen[0])
    assert [s[1].item() for s in seen[1]] == [4, 5]


def test_overridden_item_access_is_called():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    class Many(TensorDataset):
        def __getitems__(self, indices):
            return [(self.tensors[0][i] + 100,) for i in indices]

    x = cr.arange(5.0)
    assert [b[0].tolist() for b in DataLoader(Doubled(x, x), batch_size=3)] == [[0, 2, 4],
                                                                             [6, 8]]
    assert next(iter(DataLoader(Many(x), batch_size=2)))[0].tolist() == [100, 101]
    assert next(iter(DataLoader(Subset(Doubled(x, x), [4]), batch_size=2)))[0].tolist() == [8]
    plain_ds = TensorDataset(x)
    plain_ds.__getitems__ = lambda indices: [(cr.tensor(-1.0),) for _ in indices]
    assert next(iter(DataLoader(plain_ds, batch_size=2)))[0].tolist() == [-1, -1]
