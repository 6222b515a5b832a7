"""Data-parallel training of an MLP on scikit-learn's 8 x 8 handwritten digits, with
``DistributedDataParallel`` over MPI.

Every process (rank) holds the same model and trains on its own share of each epoch's
examples (``DistributedSampler``); the backward pass averages the gradients over the ranks, so
every rank takes the same optimiser step and the replicas stay identical.  Three lines differ
from single-process training; they are marked ``# DDP:`` below.

A step takes 64 examples in all, ``64 // world_size`` on each rank, and the sampler deals rank
``r`` every ``world_size``-th example of the epoch's shuffled order: the ranks' batches together
are the one process's batch, and the gradient averaged over 2 ranks of 32 examples is the
gradient on the 64, so both commands below print the same losses and accuracies (up to
rounding).

Run: mpiexec -n 2 python examples/distributed_digits.py     (two processes)
     python examples/distributed_digits.py                  (one process: the same script)
     (needs: pip install 'chainrule[examples,mpi]')
"""

from sklearn.datasets import load_digits

import chainrule as torch
import chainrule.distributed as dist
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.utils import data
from chainrule.utils.data.distributed import DistributedSampler

dist.init_process_group("mpi")  # DDP: join the processes that mpiexec started
rank, world_size = dist.get_rank(), dist.get_world_size()

torch.manual_seed(0)
digits = load_digits()
dataset = data.TensorDataset(torch.tensor(digits.data / 16.0, dtype=torch.float32),
                             torch.tensor(digits.target))
train, test = data.random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
sampler = DistributedSampler(train, shuffle=True, seed=0)  # DDP: this rank's share of an epoch
train_iter = data.DataLoader(train, batch_size=64 // world_size, sampler=sampler)  # 64 a step
X_test, y_test = next(iter(data.DataLoader(test, batch_size=len(test))))

net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
net = DistributedDataParallel(net)  # DDP: rank 0's weights everywhere, gradients averaged
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

for epoch in range(10):
    sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    net.train()
    loss_sum = examples = 0
    for X, y in train_iter:
        trainer.zero_grad()
        l = loss(net(X), y)  # noqa: E741 (the book's name)
        l.backward()
        trainer.step()
        loss_sum, examples = loss_sum + l.item() * len(y), examples + len(y)
    totals = torch.tensor([loss_sum, examples], dtype=torch.float64)
    dist.all_reduce(totals)  # summed over the ranks: the mean loss of the whole epoch
    net.eval()
    with torch.no_grad():
        test_accuracy = (net(X_test).argmax(1) == y_test).float().mean().item()
    if rank == 0:
        print(f"epoch {epoch + 1}: loss {(totals[0] / totals[1]).item():.4f}, "
              f"test accuracy {test_accuracy:.3f}")

# every rank must hold the same parameters: gather a checksum of each rank's
checksum = torch.stack([p.detach().double().sum() for p in net.parameters()]).sum()
checksums = [torch.zeros_like(checksum) for _ in range(world_size)]
dist.all_gather(checksums, checksum)
assert all(torch.equal(c, checksums[0]) for c in checksums), checksums
assert test_accuracy > 0.95, test_accuracy
if rank == 0:
    print(f"{world_size} rank{'s' * (world_size > 1)}, {len(sampler)} training examples each "
          f"per epoch: test accuracy {test_accuracy:.3f}, parameters identical on every rank "
          f"(checksum {checksums[0].item():.6f})")
dist.destroy_process_group()
