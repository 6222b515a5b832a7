"""Pictures of differentiation: the dependency graph of a computation, and plots of derivatives.

* :func:`graph` draws a recorded computation: its operations and tensors, with their values and
  adjoints (``Graph.source`` is DOT text; ``Graph.save("g.svg")`` renders it with Graphviz
  where it is installed, else with matplotlib).
* :func:`plot` draws a function and its derivatives, computed by automatic differentiation.

Rendering needs matplotlib (``pip install 'chainrule[viz]'``) or Graphviz
(``pip install 'chainrule[graphviz]'`` and the ``dot`` program); both are imported only when
something is drawn.
"""

from chainrule.viz.graph import Graph, GraphNode, graph
from chainrule.viz.plot import plot

__all__ = ["Graph", "GraphNode", "graph", "plot"]
