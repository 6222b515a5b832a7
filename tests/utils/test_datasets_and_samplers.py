"""Datasets, ``random_split``, the samplers and ``chainrule.Generator``: lengths, indexing,
split sizes and errors against PyTorch's ``torch.utils.data`` (torch 2.13.0); the random
orders (NumPy's stream, not PyTorch's) for being permutations or in range, for their
frequencies, and for being reproducible from a seed."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)
from tests.utils.helpers import plain

# ============================================================================================
# datasets


def test_tensor_dataset_matches_pytorch():
    torch = pytest.importorskip("torch")
    X = np.arange(12.0).reshape(4, 3)
    y = np.array([1, 0, 1, 1])
    ours = TensorDataset(cr.tensor(X), cr.tensor(y))
    theirs = torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y))
    assert len(ours) == len(theirs) == 4
    for i in (0, 3, -1, slice(1, 3)):
        assert plain(ours[i]) == plain(theirs[i])


def test_tensor_dataset_errors():
    torch = pytest.importorskip("torch")
    with pytest.raises(AssertionError):
        torch.utils.data.TensorDataset(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match=r"TensorDataset: Size mismatch.*\[3, 4\]"):
        TensorDataset(cr.ones(3), cr.ones(4))
    with pytest.raises(ValueError, match="TensorDataset: tensor 1 must have at least one"):
        TensorDataset(cr.ones(3), cr.tensor(1.0))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


def test_concat_dataset_matches_pytorch():
    torch = pytest.importorskip("torch")
    parts = [list("ab"), [], list("cde")]
    ours, theirs = ConcatDataset(parts), torch.utils.data.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 5
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-5, 5)] == [theirs[i] for i in range(-5, 5)]
    with pytest.raises(ValueError):
        theirs[-6]
    with pytest.raises(ValueError, match="ConcatDataset: absolute value of index"):
        ours[-6]
    with pytest.raises(IndexError):
        theirs[5]
    with pytest.raises(IndexError):
        ours[5]
    with pytest.raises(ValueError, match="ConcatDataset: datasets should not be an empty"):
        ConcatDataset([])


def test_dataset_addition_and_abstract_methods():
    class Three(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            if i >= 3:
                raise IndexError(i)
            return i

    both = Three() + Three()
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(6)] == [0, 1, 2, 0, 1, 2]
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(IterableDataset())

    class Two(IterableDataset):
        def __iter__(self):
            return iter("ab")

    chained = Two() + Two()
    assert isinstance(chained, ChainDataset) and list(chained) == list("abab")
    with pytest.raises(TypeError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Two()])


def test_subset():
    s = Subset(TensorDataset(cr.arange(10)), [7, 2, 2])
    assert len(s) == 3 and s[0][0].item() == 7
    assert [x[0].item() for x in s[[2, 0]]] == [2, 7]


# ============================================================================================
# random_split


SPLITS = [(10, [3, 7]), (10, [0.7, 0.3]), (10, [0.3, 0.3, 0.4]), (5, [0.5, 0.5]),
          (7, [0.25, 0.25, 0.25, 0.25]), (3, [0.2, 0.2, 0.2, 0.2, 0.2]), (4, [4, 0]),
          (0, [0, 0])]


@pytest.mark.parametrize("n, lengths", SPLITS)
def test_random_split_sizes_match_pytorch(n, lengths):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_split(range(n), lengths, generator=cr.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = torch.utils.data.random_split(range(n), lengths,
                                               generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s) == list(range(n))
    assert len(ours_warned) == len(theirs_warned)  # one warning per empty split of fractions
    assert all("random_split: length of split" in str(w.message) for w in ours_warned)


def test_random_split_is_reproducible():
    def split(seed):
        return [list(s) for s in random_split(range(20), [0.5, 0.25, 0.25],
                                              generator=cr.Generator().manual_seed(seed))]

    assert split(3) == split(3)
    assert split(3) != split(4)
    cr.manual_seed(8)
    a = [list(s) for s in random_split(range(20), [10, 10])]
    cr.manual_seed(8)
    assert [list(s) for s in random_split(range(20), [10, 10])] == a
    # a plain NumPy generator works too
    b = random_split(range(6), [3, 3], generator=np.random.default_rng(0))
    assert sorted(list(b[0]) + list(b[1])) == list(range(6))


@pytest.mark.parametrize("lengths, error, words", [
    ([3, 3], ValueError, "Sum of input lengths does not equal"),
    ([0.5, 0.6], ValueError, "Sum of input lengths"),
])
def test_random_split_errors_match_pytorch(lengths, error, words):
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        torch.utils.data.random_split(range(10), lengths)
    with pytest.raises(error, match=f"random_split: {words}"):
        random_split(range(10), lengths)


def test_random_split_refuses_what_pytorch_misreads():
    # PyTorch accepts [-1, 11] (sum 10) and returns overlapping nonsense; chainrule refuses
    with pytest.raises(ValueError, match="random_split: lengths must be non-negative ints"):
        random_split(range(10), [-1, 11])
    with pytest.raises(TypeError, match="random_split: lengths must be a list"):
        random_split(range(10), "ab")
    with pytest.raises(TypeError, match="random_split: generator must be a chainrule.Generator"):
        random_split(range(10), [5, 5], generator=3)


# ============================================================================================
# samplers


def test_sequential_and_batch_samplers_match_pytorch():
    torch = pytest.importorskip("torch")
    assert list(SequentialSampler("abcd")) == list(torch.utils.data.SequentialSampler("abcd"))
    for n, size, drop in [(7, 3, False), (7, 3, True), (6, 3, True), (2, 4, False),
                          (2, 4, True), (0, 2, False)]:
        ours = BatchSampler(range(n), size, drop)
        theirs = torch.utils.data.BatchSampler(range(n), size, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": True},
                                    {"batch_size": 2.0}, {"drop_last": 1}])
def test_batch_sampler_errors_match_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    args = {"batch_size": 2, "drop_last": False} | kwargs
    with pytest.raises(ValueError):
        torch.utils.data.BatchSampler(range(3), **args)
    with pytest.raises(ValueError, match=f"BatchSampler: {next(iter(kwargs))} should be"):
        BatchSampler(range(3), **args)


@pytest.mark.parametrize("replacement, num_samples", [(False, None), (False, 3), (False, 12),
                                                      (True, None), (True, 25)])
def test_random_sampler(replacement, num_samples):
    torch = pytest.importorskip("torch")
    data = range(5)
    ours = RandomSampler(data, replacement, num_samples, generator=cr.Generator().manual_seed(1))
    theirs = torch.utils.data.RandomSampler(data, replacement, num_samples)
    drawn = list(ours)
    assert len(ours) == len(theirs) == len(drawn) == len(list(theirs))
    assert all(0 <= i < 5 and isinstance(i, int) for i in drawn)
    if not replacement:  # whole permutations, then the start of one
        for start in range(0, len(drawn), 5):
            block = drawn[start:start + 5]
            assert len(set(block)) == len(block)
    again = RandomSampler(data, replacement, num_samples, generator=cr.Generator().manual_seed(1))
    assert list(again) == drawn


def test_random_sampler_with_replacement_is_uniform():
    drawn = np.array(list(RandomSampler(range(4), True, 40000,
                                        generator=cr.Generator().manual_seed(0))))
    freq = np.bincount(drawn, minlength=4) / drawn.size
    # binomial standard deviation sqrt(p (1 - p) / n) = 0.0022; 5 of them
    np.testing.assert_allclose(freq, 0.25, atol=0.011)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"replacement": 1}, TypeError, "replacement should be a boolean"),
    ({"num_samples": 0}, ValueError, "num_samples should be a positive integer"),
    ({"num_samples": 2.5}, ValueError, "num_samples should be a positive integer"),
])
def test_random_sampler_errors_match_pytorch(kwargs, error, words):
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        torch.utils.data.RandomSampler(range(3), **kwargs)
    with pytest.raises(error, match=f"RandomSampler: {words}"):
        RandomSampler(range(3), **kwargs)


def test_subset_random_sampler():
    idx = [10, 4, 7, 1]
    s = SubsetRandomSampler(idx, generator=cr.Generator().manual_seed(2))
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == sorted(idx) and len(s) == 4
    assert list(SubsetRandomSampler(idx, generator=cr.Generator().manual_seed(2))) == first


def test_weighted_random_sampler_frequencies():
    w = cr.tensor([1.0, 0.0, 3.0, 4.0])
    drawn = np.array(list(WeightedRandomSampler(w, 40000,
                                                generator=cr.Generator().manual_seed(0))))
    freq = np.bincount(drawn, minlength=4) / drawn.size
    np.testing.assert_allclose(freq, [0.125, 0.0, 0.375, 0.5], atol=0.012)
    no_repeat = list(WeightedRandomSampler([1, 5, 0, 2], 3, replacement=False))
    assert sorted(no_repeat) == [0, 1, 3]
    # as PyTorch's: past the non-zero weights, the zero-weight items come last
    for seed in range(5):
        drawn = list(WeightedRandomSampler([1, 0, 0, 2], 3, replacement=False,
                                           generator=cr.Generator().manual_seed(seed)))
        assert set(drawn[:2]) == {0, 3} and drawn[2] in (1, 2)
    # the first draw without replacement follows the weights too
    firsts = [next(iter(WeightedRandomSampler([1.0, 3.0], 1, replacement=False,
                                              generator=cr.Generator().manual_seed(s))))
              for s in range(2000)]
    np.testing.assert_allclose(np.mean(firsts), 0.75, atol=0.05)  # 5 standard deviations


@pytest.mark.parametrize("args, kwargs, error, words", [
    ([[1.0, 2.0], 0], {}, ValueError, "num_samples should be a positive integer"),
    ([[1.0, 2.0], 2], {"replacement": 1}, ValueError, "replacement should be a boolean"),
    ([[[1.0, 2.0]], 2], {}, ValueError, "weights should be a 1d sequence"),
    ([[1.0, -2.0], 2], {}, RuntimeError, "invalid multinomial distribution"),
    ([[1.0, 0.0], 3], {"replacement": False}, RuntimeError, "without replacement"),
])
def test_weighted_random_sampler_errors_match_pytorch(args, kwargs, error, words):
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        list(torch.utils.data.WeightedRandomSampler(*args, **kwargs))
    with pytest.raises(error, match=f"WeightedRandomSampler: .*{words}"):
        list(WeightedRandomSampler(*args, **kwargs))


def test_sampler_base_class():
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(Sampler())


# ============================================================================================
# chainrule.Generator


def test_generator_seeding_and_state():
    g = cr.Generator()
    assert g.initial_seed() == 67280421310721 and g.device == "cpu"  # PyTorch's default seed
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    a = cr.randn(3, generator=g)
    b = cr.randn(3, generator=cr.Generator().manual_seed(5))
    assert a.tolist() == b.tolist()
    state = g.get_state()
    c = cr.randint(0, 1000, (4,), generator=g)
    g.set_state(state)
    assert cr.randint(0, 1000, (4,), generator=g).tolist() == c.tolist()
    h = copy.deepcopy(g)
    k = pickle.loads(pickle.dumps(g))
    assert isinstance(h, cr.Generator) and isinstance(k, cr.Generator)
    assert h.random() == g.random() == k.random()
    assert cr.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # wraps as in PyTorch
    s = g.seed()
    assert g.initial_seed() == s


def test_generator_errors():
    with pytest.raises(TypeError, match="Generator.manual_seed: seed must be an int"):
        cr.Generator().manual_seed(1.5)
    with pytest.raises(RuntimeError, match="Generator: device 'cuda' is not available"):
        cr.Generator("cuda")
    with pytest.raises(TypeError, match="Generator.set_state"):
        cr.Generator().set_state(3)
