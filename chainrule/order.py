"""The order of a backward walk: how many recorded edges lead into each node, and which nodes
lead to the inputs whose gradients are wanted.

The walk (``backward.py``) takes a node when all its consumers are done, so it needs each
node's count of consumers; with ``inputs=`` it also skips the nodes from which no wanted input
can be reached.  Both are found without recursion, so graphs of a million nodes are fine.
"""

from __future__ import annotations

import threading

from chainrule.engine import Node

_COUNTING = threading.Lock()  # held by the one count that may mark nodes (see below)


def count_consumers(root_nodes) -> dict:
    """How many recorded edges lead into each node reachable from the roots.

    Most nodes of a graph feed exactly one other: those are only marked as seen (a slot of the
    node, which is cheaper than an entry in a dict of a million nodes) and have no entry.  The
    dict holds the roots and the nodes with two consumers or more; ``deps.get(node, 1)``
    reads any count.  Two counts marking the same nodes at once would each take the other's
    marks for their own, so one count at a time marks; a count that finds the lock taken
    (another thread's, or this thread's own, re-entered from a finaliser that runs a backward
    pass) counts every node in the dict instead.
    """
    deps = dict.fromkeys(root_nodes, 0)
    stack = list(root_nodes)
    if not _COUNTING.acquire(blocking=False):
        return _count_in_dict(deps, stack)
    try:
        seen = object()  # this pass's mark
        for node in root_nodes:
            node.mark = seen
        while stack:
            for p in stack.pop().parents:
                if type(p) is Node:
                    if p.mark is not seen:
                        p.mark = seen
                        stack.append(p)
                    elif p in deps:
                        deps[p] += 1
                    else:
                        deps[p] = 2
    finally:
        _COUNTING.release()
    return deps


def _count_in_dict(deps, stack) -> dict:
    """The same counts, every node in the dict (no marks)."""
    while stack:
        for p in stack.pop().parents:
            if type(p) is Node:
                if p in deps:
                    deps[p] += 1
                else:
                    deps[p] = 1
                    stack.append(p)
    return deps


def leading_to(root_nodes, deps, targets) -> set:
    """The nodes and leaves from which some target can be reached (targets included)."""
    remaining = dict(deps)
    order = []
    stack = [n for n in root_nodes if remaining[n] == 0]
    while stack:
        node = stack.pop()
        order.append(node)
        for p in node.parents:
            if type(p) is Node:
                remaining[p] = remaining.get(p, 1) - 1
                if remaining[p] == 0:
                    stack.append(p)
    wanted = {t for t in targets if type(t) is not Node}
    for node in reversed(order):
        if node in targets or any(p in wanted for p in node.parents if p is not None):
            wanted.add(node)
    return wanted
