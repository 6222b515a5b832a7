"""``DataLoader`` and ``default_collate``/``default_convert`` against PyTorch's
``torch.utils.data`` (torch 2.13.0) for everything that does not depend on the random stream:
batch contents without shuffling, collated structures and dtypes, lengths, ``drop_last``,
custom samplers and collate functions, and the errors.  Shuffled loaders are checked for
being permutations and reproducible from a seed."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
    default_collate,
    default_convert,
)
from tests.utils.helpers import as_torch, plain

Point = collections.namedtuple("Point", "x y")


def _rng():
    return np.random.default_rng(0)


class Items(Dataset):
    """A map-style dataset of given samples (the same class works for PyTorch's loader)."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


SAMPLES = {
    "floats": [1.5, 2.5, -1.0],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "strings": ["a", "bc", "d"],
    "tuples": [(1.0, 2), (3.0, 4), (5.0, 6)],
    "lists": [[1, 2.0], [3, 4.0], [5, 6.0]],
    "dicts": [{"x": 1.0, "y": [1, 2]}, {"x": 2.0, "y": [3, 4]}, {"x": 3.0, "y": [5, 6]}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0), Point(5, 6.0)],
    "float32 arrays": [np.arange(3, dtype=np.float32) + i for i in range(3)],
    "int32 arrays": [np.arange(4, dtype=np.int32).reshape(2, 2) * i for i in range(3)],
    "float64 arrays": [np.full(2, 0.5 * i) for i in range(3)],
    "numpy scalars": [np.float32(1.5), np.float32(2.5), np.float32(3.0)],
    "numpy ints": [np.int16(1), np.int16(2), np.int16(7)],
    "tensors": [cr.tensor([1.0, 2.0]) * i for i in range(3)],
    "int tensors": [cr.tensor([[1, 2]]) * i for i in range(3)],
    "nested": [({"a": cr.tensor(float(i)), "b": (np.float64(i), "s")}, [i, [i, i]])
               for i in range(3)],
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_default_collate_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    samples = SAMPLES[kind]
    got = plain(default_collate(samples))
    want = plain(torch.utils.data.default_collate(as_torch(torch, samples)))
    assert got == want


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_default_convert_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    sample = SAMPLES[kind][1]
    got = plain(default_convert(sample))
    want = plain(torch.utils.data.default_convert(as_torch(torch, sample)))
    assert got == want


@pytest.mark.parametrize("batch, error", [
    ([[1, 2], [3]], RuntimeError),               # ragged
    ([object(), object()], TypeError),           # not collatable
    ([np.array(["a"]), np.array(["b"])], TypeError),  # string arrays
    ([1 + 2j, 3j], TypeError),                   # complex numbers: PyTorch refuses them too
])
def test_default_collate_errors_match_pytorch(batch, error):
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        torch.utils.data.default_collate(batch)
    with pytest.raises(error, match="default_collate"):
        default_collate(batch)


def test_default_collate_of_tensors_stacks_with_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([x, 2 * x])
    batch.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def _dataset():
    X = np.arange(21, dtype=np.float32).reshape(7, 3)
    y = np.array([0, 1, 2, 0, 1, 2, 0])
    return X, y


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_batches_match_pytorch(batch_size, drop_last):
    torch = pytest.importorskip("torch")
    X, y = _dataset()
    ours = DataLoader(TensorDataset(cr.tensor(X), cr.tensor(y)), batch_size=batch_size,
                      drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)),
        batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert plain(list(ours)) == plain(list(theirs))


@pytest.mark.parametrize("kind", ["tuples", "dicts", "namedtuples", "float32 arrays", "floats",
                                  "strings", "nested"])
@pytest.mark.parametrize("batch_size", [None, 1, 2])
def test_structured_batches_match_pytorch(kind, batch_size):
    torch = pytest.importorskip("torch")
    samples = SAMPLES[kind]
    ours = list(DataLoader(Items(samples), batch_size=batch_size))
    theirs = list(torch.utils.data.DataLoader(Items(as_torch(torch, samples)),
                                              batch_size=batch_size))
    assert plain(ours) == plain(theirs)


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True),
                                                      (9, 3, True), (2, 5, False),
                                                      (2, 5, True), (4, None, False)])
def test_iterable_dataset_matches_pytorch(n, batch_size, drop_last):
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n

    ours = DataLoader(Stream(n), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(TorchStream(), batch_size=batch_size,
                                         drop_last=drop_last)
    assert plain(list(ours)) == plain(list(theirs))
    assert len(ours) == len(theirs)


def test_samplers_and_collate_fn_match_pytorch():
    torch = pytest.importorskip("torch")
    data = list(range(10))

    def collate(batch):
        return sum(batch)

    order = [9, 0, 4, 4, 1]
    batches = [[3, 1], [0], [9, 8, 7]]
    for kwargs in ({"sampler": order, "batch_size": 2},
                   {"sampler": order, "batch_size": None},
                   {"batch_sampler": batches},
                   {"batch_sampler": batches, "collate_fn": collate},
                   {"sampler": SequentialSampler(data), "batch_size": 4, "collate_fn": collate},
                   {"batch_size": 3, "collate_fn": collate, "drop_last": True}):
        ours = DataLoader(Items(data), **kwargs)
        tkwargs = dict(kwargs)
        if isinstance(kwargs.get("sampler"), SequentialSampler):
            tkwargs["sampler"] = torch.utils.data.SequentialSampler(data)
        theirs = torch.utils.data.DataLoader(Items(data), **tkwargs)
        assert plain(list(ours)) == plain(list(theirs)), kwargs
        assert len(ours) == len(theirs), kwargs


def test_batch_sampler_object_is_used():
    loader = DataLoader(Items(list("abcde")), batch_sampler=BatchSampler(range(5), 2, True))
    assert list(loader) == [["a", "b"], ["c", "d"]]


def test_getitems_is_used_for_a_batch():
    class Many(Items):
        def __getitems__(self, indices):
            return [("many", i) for i in indices]

    assert DataLoader(Many([0] * 4), batch_size=3, collate_fn=list).__iter__().__next__() \
        == [("many", 0), ("many", 1), ("many", 2)]


def test_shuffle_is_a_reproducible_permutation():
    X, y = _dataset()
    ds = TensorDataset(cr.tensor(X), cr.tensor(y))

    def epoch(loader):
        return np.concatenate([b[0].numpy()[:, 0] for b in loader]).tolist()

    loader = DataLoader(ds, batch_size=3, shuffle=True, generator=cr.Generator().manual_seed(4))
    first, second = epoch(loader), epoch(loader)
    assert sorted(first) == sorted(second) == X[:, 0].tolist()
    assert first != second  # the generator moves on between epochs
    again = DataLoader(ds, batch_size=3, shuffle=True, generator=cr.Generator().manual_seed(4))
    assert [epoch(again), epoch(again)] == [first, second]
    other = DataLoader(ds, batch_size=3, shuffle=True, generator=cr.Generator().manual_seed(5))
    assert epoch(other) != first
    # without a generator, the global seed decides
    cr.manual_seed(11)
    a = epoch(DataLoader(ds, batch_size=2, shuffle=True))
    cr.manual_seed(11)
    assert epoch(DataLoader(ds, batch_size=2, shuffle=True)) == a


def test_shuffle_drop_last_gives_full_batches():
    loader = DataLoader(Items(list(range(10))), batch_size=4, shuffle=True, drop_last=True,
                        generator=cr.Generator().manual_seed(0))
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    assert [len(b) for b in batches] == [4, 4]
    assert len(set(np.concatenate([b.numpy() for b in batches]).tolist())) == 8


BAD_OPTIONS = [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 2.0}, ValueError, "batch_size"),
    ({"sampler": [0, 1], "shuffle": True}, ValueError, "mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError, "batch_sampler"),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError, "batch_sampler"),
    ({"batch_sampler": [[0]], "sampler": [0]}, ValueError, "batch_sampler"),
    ({"batch_size": None, "drop_last": True}, ValueError, "drop_last"),
    ({"num_workers": -1}, ValueError, "num_workers"),
    ({"timeout": -1}, ValueError, "timeout"),
    ({"prefetch_factor": 2}, ValueError, "prefetch_factor"),
    ({"persistent_workers": True}, ValueError, "persistent_workers"),
]


@pytest.mark.parametrize("kwargs, error, words", BAD_OPTIONS)
def test_bad_options_raise_like_pytorch(kwargs, error, words):
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        torch.utils.data.DataLoader(Items([1, 2, 3]), **kwargs)
    with pytest.raises(error, match=f"DataLoader.*{words}"):
        DataLoader(Items([1, 2, 3]), **kwargs)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]},
                                    {"batch_sampler": [[0]]}])
def test_iterable_dataset_refuses_orders_like_pytorch(kwargs):
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(TorchStream(), **kwargs)
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected "
                                         "unspecified"):
        DataLoader(Stream(3), **kwargs)


def test_workers_read_in_the_main_process_the_batches_of_no_workers():
    # PyTorch's workers give the batches of num_workers=0, in order (in_order=True): so do we
    data = Items(list(range(7)))
    for options in ({}, {"shuffle": True}, {"drop_last": True}):
        batches = [[b.tolist() for b in DataLoader(data, batch_size=3, num_workers=workers,
                                                   generator=cr.Generator().manual_seed(3),
                                                   **options)]
                   for workers in (0, 4)]
        assert batches[0] == batches[1]
        assert sorted(sum(batches[1], [])) == list(range(6 if options.get("drop_last") else 7))
    loader = DataLoader(data, batch_size=2, num_workers=2, prefetch_factor=2,
                        persistent_workers=True)
    assert loader.num_workers == 2 and len(list(loader)) == 4
    with pytest.raises(NotImplementedError, match=r"DataLoader: worker_init_fn .*leave"):
        DataLoader(data, num_workers=2, worker_init_fn=print)
    assert list(DataLoader(Items([1]), worker_init_fn=print)) == [cr.tensor([1])]


def test_options_are_frozen_after_init():
    loader = DataLoader(Items([1, 2]))
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 2
    loader.collate_fn = list  # allowed, as in PyTorch
    assert list(loader) == [[1], [2]]


def test_bad_generator_and_collate_fn():
    with pytest.raises(TypeError, match="RandomSampler: generator must be a chainrule.Generator"):
        DataLoader(Items([1]), shuffle=True, generator=0)
    with pytest.raises(TypeError, match="DataLoader: collate_fn must be callable"):
        DataLoader(Items([1]), collate_fn=3)
    with pytest.raises(TypeError, match="DataLoader: shuffle should be a boolean"):
        DataLoader(Items([1]), shuffle="yes")


def test_import_as_torch():
    import chainrule as torch

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4, 2)),
                                         batch_size=2)
    assert [b[0].shape for b in loader] == [(2, 2), (2, 2)]
