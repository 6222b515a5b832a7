"""``DistributedSampler``: the per-rank index lists against PyTorch's
``torch.utils.data.distributed.DistributedSampler`` (torch 2.13.0) without shuffling; with
shuffling (NumPy's stream, not PyTorch's) the partition's structure -- every rank the same
permutation, ranks disjoint and together the padded dataset, a new order per epoch and seed;
lengths, the ``DataLoader``, the errors, and the defaults read from ``chainrule.distributed``
(faked here, since that needs mpi4py and ``mpiexec``)."""

from __future__ import annotations

import collections
import math
import sys
import types

import pytest

import chainrule as cr
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset

# (len(dataset), num_replicas): divisible, not, fewer items than replicas, one replica, empty
SHAPES = [(10, 3), (12, 4), (7, 2), (2, 5), (1, 4), (5, 1), (9, 9), (0, 3), (17, 5)]


def _ranks(n, replicas, **kwargs):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kwargs))
            for r in range(replicas)]


def _padded(n, replicas):
    """range(n) padded by repeating its start to a multiple of replicas (as a multiset)."""
    total = math.ceil(n / replicas) * replicas
    return collections.Counter([i % n for i in range(total)] if n else [])


# ============================================================================================
# partition, without shuffling


def test_partition_without_drop_last():
    assert _ranks(10, 3, shuffle=False) == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert _ranks(12, 4, shuffle=False) == [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]
    # fewer items than replicas: the padding repeats the whole list more than once
    assert _ranks(2, 5, shuffle=False) == [[0], [1], [0], [1], [0]]
    assert _ranks(1, 4, shuffle=False) == [[0], [0], [0], [0]]
    assert _ranks(0, 3, shuffle=False) == [[], [], []]


def test_partition_with_drop_last():
    assert _ranks(10, 3, shuffle=False, drop_last=True) == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    # divisible: nothing dropped
    assert _ranks(12, 4, shuffle=False, drop_last=True) == _ranks(12, 4, shuffle=False)
    assert _ranks(17, 5, shuffle=False, drop_last=True) == [
        [0, 5, 10], [1, 6, 11], [2, 7, 12], [3, 8, 13], [4, 9, 14]]
    # fewer items than replicas: every rank gets nothing
    assert _ranks(2, 5, shuffle=False, drop_last=True) == [[]] * 5


@pytest.mark.parametrize("n, replicas", SHAPES)
@pytest.mark.parametrize("shuffle", [False, True])
def test_union_is_the_padded_dataset(n, replicas, shuffle):
    ranks = _ranks(n, replicas, shuffle=shuffle, seed=3)
    assert len({len(r) for r in ranks}) == 1
    count = collections.Counter(i for r in ranks for i in r)
    if shuffle:  # the padding repeats the permutation's start, whichever items those are
        assert set(count) == set(range(n))
        assert sorted(count.values()) == sorted(_padded(n, replicas).values())
    else:
        assert count == _padded(n, replicas)
    if n % replicas == 0:
        seen = [i for r in ranks for i in r]
        assert sorted(seen) == list(range(n))  # disjoint, nothing repeated


@pytest.mark.parametrize("n, replicas", SHAPES)
@pytest.mark.parametrize("shuffle", [False, True])
def test_drop_last_union_is_distinct_and_even(n, replicas, shuffle):
    ranks = _ranks(n, replicas, shuffle=shuffle, drop_last=True, seed=5)
    seen = [i for r in ranks for i in r]
    assert len(seen) == len(set(seen)) == (n // replicas) * replicas
    assert set(seen) <= set(range(n))
    assert {len(r) for r in ranks} == {n // replicas}


@pytest.mark.parametrize("n, replicas", SHAPES)
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_is_the_count_iterated(n, replicas, drop_last):
    for r in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=r, drop_last=drop_last)
        assert len(s) == len(list(s)) == s.num_samples
        assert s.total_size == s.num_samples * replicas


# ============================================================================================
# shuffling


def _order(n, replicas, seed, epoch):
    """The shuffled order before splitting, rebuilt from the ranks' lists."""
    order = [None] * (math.ceil(n / replicas) * replicas)
    for r in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=r, seed=seed)
        s.set_epoch(epoch)
        order[r::replicas] = list(s)
    return order


def test_every_rank_shuffles_with_the_same_permutation():
    # with one permutation shared, the ranks' interleaved lists are that permutation
    # (padded from its start); separate permutations would repeat or miss items
    n, replicas = 23, 4
    order = _order(n, replicas, seed=11, epoch=2)
    assert sorted(order[:n]) == list(range(n))
    assert order[n:] == order[:len(order) - n]
    assert order[:n] != list(range(n))
    # the same on a second pass and from a fresh sampler
    s = DistributedSampler(range(n), num_replicas=replicas, rank=1, seed=11)
    s.set_epoch(2)
    assert list(s) == list(s) == order[1::replicas]


def test_set_epoch_and_seed_change_the_order():
    n, replicas = 30, 3
    base = _order(n, replicas, seed=0, epoch=0)
    assert _order(n, replicas, seed=0, epoch=1) != base
    assert _order(n, replicas, seed=1, epoch=0) != base
    # the generator is seeded with seed + epoch
    assert _order(n, replicas, seed=1, epoch=0) == _order(n, replicas, seed=0, epoch=1)
    rng = cr.Generator().manual_seed(7)
    assert _order(n, replicas, seed=5, epoch=2)[:n] == rng.permutation(n).tolist()


def test_without_set_epoch_every_pass_repeats():
    s = DistributedSampler(range(40), num_replicas=2, rank=0, seed=4)
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first


def test_shuffle_does_not_touch_the_global_generator():
    cr.manual_seed(0)
    expected = cr.rand(3).tolist()
    cr.manual_seed(0)
    list(DistributedSampler(range(10), num_replicas=2, rank=0))
    assert cr.rand(3).tolist() == expected


# ============================================================================================
# DataLoader


def test_dataloader_with_the_sampler():
    X = cr.arange(20.0).reshape(10, 2)
    y = cr.arange(10)
    ds = TensorDataset(X, y)
    got = []
    for r in range(3):
        sampler = DistributedSampler(ds, num_replicas=3, rank=r, shuffle=False)
        loader = DataLoader(ds, batch_size=3, sampler=sampler)
        labels = [b[1].tolist() for b in loader]
        assert len(loader) == 2
        assert [len(b) for b in labels] == [3, 1]
        got.append(sum(labels, []))
    assert got == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    # features follow the labels
    sampler = DistributedSampler(ds, num_replicas=3, rank=2, seed=9)
    sampler.set_epoch(3)
    for xb, yb in DataLoader(ds, batch_size=2, sampler=sampler):
        assert xb.tolist() == [[2.0 * i, 2.0 * i + 1] for i in yb.tolist()]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=sampler, shuffle=True)


# ============================================================================================
# errors


@pytest.mark.parametrize("rank, replicas", [(3, 3), (7, 2), (-1, 4), (0, 0)])
def test_rank_out_of_range(rank, replicas):
    if replicas == 0:
        with pytest.raises(ValueError, match="num_replicas should be a positive integer"):
            DistributedSampler(range(5), num_replicas=replicas, rank=rank)
        return
    with pytest.raises(ValueError) as info:
        DistributedSampler(range(5), num_replicas=replicas, rank=rank)
    assert str(info.value) == (f"Invalid rank {rank}, rank should be in the interval "
                               f"[0, {replicas - 1}]")


def test_rank_error_text_is_pytorchs():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        torch.utils.data.distributed.DistributedSampler(range(5), num_replicas=2, rank=2)
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(5), num_replicas=2, rank=2)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("replicas", [0, -2, 2.0, True, "2"])
def test_bad_num_replicas(replicas):
    with pytest.raises(ValueError, match=r"DistributedSampler: num_replicas should be a "
                                         r"positive integer value, but got num_replicas="):
        DistributedSampler(range(5), num_replicas=replicas, rank=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"rank": 1.0}, "rank should be an integer value, but got rank=1.0"),
    ({"rank": 0, "seed": 1.5}, "seed should be an integer value, but got seed=1.5"),
    ({"rank": 0, "seed": True}, "seed should be an integer value"),
    ({"rank": 0, "shuffle": 1}, "shuffle should be a boolean value, but got shuffle=1"),
    ({"rank": 0, "drop_last": "yes"}, "drop_last should be a boolean value"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(TypeError, match=f"DistributedSampler: {message}"):
        DistributedSampler(range(5), num_replicas=2, **kwargs)


def test_bad_epoch():
    s = DistributedSampler(range(5), num_replicas=2, rank=0)
    with pytest.raises(TypeError, match="DistributedSampler.set_epoch: epoch should be an "
                                        "integer value"):
        s.set_epoch(1.5)


def test_a_longer_dataset_after_construction_is_an_error():
    data = list(range(6))
    s = DistributedSampler(data, num_replicas=2, rank=0, shuffle=False)
    data.append(6)
    with pytest.raises(RuntimeError, match="dataset has 7 items now"):
        list(s)


def test_negative_seed_wraps():
    s = DistributedSampler(range(12), num_replicas=3, rank=0, seed=-1)
    t = DistributedSampler(range(12), num_replicas=3, rank=0, seed=2**64 - 1)
    assert list(s) == list(t)


# ============================================================================================
# num_replicas and rank from chainrule.distributed


def _fake_dist(monkeypatch, world_size=4, rank=1, error=None):
    def get(value):
        def f():
            if error is not None:
                raise RuntimeError(error)
            return value
        return f
    fake = types.SimpleNamespace(get_world_size=get(world_size), get_rank=get(rank))
    monkeypatch.setitem(sys.modules, "chainrule.distributed", fake)
    # `import chainrule.distributed as dist` takes the package's attribute first
    monkeypatch.setattr(cr, "distributed", fake, raising=False)
    return fake


def test_defaults_come_from_the_process_group(monkeypatch):
    _fake_dist(monkeypatch, world_size=4, rank=1)
    s = DistributedSampler(range(10), shuffle=False)
    assert (s.num_replicas, s.rank) == (4, 1)
    assert list(s) == [1, 5, 9]
    # an explicit value wins over the group's
    s = DistributedSampler(range(10), rank=3, shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (4, 3, [3, 7, 1])
    s = DistributedSampler(range(10), num_replicas=2, shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (2, 1, [1, 3, 5, 7, 9])


def test_the_process_group_values_are_checked(monkeypatch):
    _fake_dist(monkeypatch, world_size=2, rank=5)
    with pytest.raises(ValueError, match=r"Invalid rank 5, rank should be in the interval "
                                         r"\[0, 1\]"):
        DistributedSampler(range(10))
    _fake_dist(monkeypatch, world_size=0, rank=0)
    with pytest.raises(ValueError, match="num_replicas should be a positive integer"):
        DistributedSampler(range(10))


def test_uninitialized_process_group(monkeypatch):
    message = ("Default process group has not been initialized, please make sure to call "
               "init_process_group.")
    _fake_dist(monkeypatch, error=message)
    with pytest.raises(RuntimeError) as info:
        DistributedSampler(range(10))
    text = str(info.value)
    assert text.startswith("DistributedSampler: ")
    assert "pass num_replicas and rank explicitly" in text
    assert "chainrule.distributed.init_process_group()" in text
    assert "mpiexec -n N" in text
    assert message in text
    assert isinstance(info.value.__cause__, RuntimeError)
    # explicit arguments never ask the process group
    assert len(DistributedSampler(range(10), num_replicas=2, rank=0)) == 5


def test_no_distributed_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "chainrule.distributed", None)
    for kwargs in ({}, {"num_replicas": 2}, {"rank": 0}):
        with pytest.raises(RuntimeError) as info:
            DistributedSampler(range(10), **kwargs)
        text = str(info.value)
        assert "pip install 'chainrule[mpi]'" in text
        assert "pass num_replicas and rank explicitly" in text
        assert "chainrule.distributed.init_process_group()" in text
        assert isinstance(info.value.__cause__, ImportError)
    assert list(DistributedSampler(range(4), num_replicas=2, rank=1, shuffle=False)) == [1, 3]


# ============================================================================================
# PyTorch


@pytest.mark.parametrize("drop_last", [False, True])
def test_matches_pytorch_without_shuffle(drop_last):
    torch = pytest.importorskip("torch")
    Theirs = torch.utils.data.distributed.DistributedSampler
    for n in [0, 1, 2, 3, 5, 7, 8, 10, 12, 13, 31]:
        for replicas in [1, 2, 3, 4, 5, 8, 16]:
            for rank in range(replicas):
                ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                          shuffle=False, drop_last=drop_last)
                theirs = Theirs(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                drop_last=drop_last)
                key = (n, replicas, rank)
                assert list(ours) == list(theirs), key
                assert len(ours) == len(theirs), key
                assert (ours.num_samples, ours.total_size) == (theirs.num_samples,
                                                               theirs.total_size), key


@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_structure_matches_pytorch(drop_last):
    # the orders differ by design; what each rank holds as a multiset of multiplicities does not
    torch = pytest.importorskip("torch")
    Theirs = torch.utils.data.distributed.DistributedSampler
    for n, replicas in SHAPES:
        ours = _ranks(n, replicas, seed=2, drop_last=drop_last)
        theirs = [list(Theirs(range(n), num_replicas=replicas, rank=r, seed=2,
                              drop_last=drop_last)) for r in range(replicas)]
        assert [len(r) for r in ours] == [len(r) for r in theirs]
        count = collections.Counter(i for r in ours for i in r)
        their_count = collections.Counter(i for r in theirs for i in r)
        assert sorted(count.values()) == sorted(their_count.values()), (n, replicas)
