"""THE primitive table: every differentiable operation, its NumPy forward and its rules.

One file per family: ``elementwise.py`` (and ``elementwise_math.py``: NumPy's other elementwise
functions), ``reductions.py``, ``shape.py`` (shapes, indexing, joining), ``scans.py``
(cumulative sums and products, sorting), ``linalg.py`` (products and linear algebra),
``decompositions.py`` (Cholesky, eigh, SVD, QR), ``eig.py`` (general eigendecomposition),
``fft.py`` (discrete Fourier transforms), ``convolution.py`` (convolution, its transpose and its
weight gradient), ``pooling.py`` (max and average pooling), ``losses.py``, ``recurrent.py``
(the fused steps of the recurrent layers: an LSTM step, a whole GRU layer), ``lstm_layer.py`` (a
whole LSTM layer).
``table.py`` holds :func:`primitive` and the registry; this docstring is the manual.
``batched.py`` holds what the batching rules (vmap's) of several families share.
``special.py`` (SciPy's special functions) needs SciPy, so this package does not import it:
``chainrule.scipy`` does, and its primitives join the registry then.  ``elementwise_numpy.py``
holds NumPy's elementwise functions whose values no composition gives (``cbrt``, ``fmod``,
``ldexp``, ``float_power``), the Bessel function ``i0`` and the error functions ``erf`` and
``erfc`` (NumPy has none; these need no SciPy).

How to read (and write) an entry
--------------------------------
``name = primitive("name", impl, vjp, jvp=..., grad_fn=..., save_inputs=..., save_ans=...)``
declares one primitive:

* ``"name"`` is the public name the user calls (``"matmul"``, ``"linalg.inv"``); errors raised
  while computing it say ``chainrule.matmul: ...``, and :data:`REGISTRY` is keyed by it.
  ``grad_fn`` is PyTorch's name of the node it records, so that ``grad_fn`` prints as
  ``<MulBackward0>``.
* ``impl(x, y, ..., **params)`` computes the result with NumPy.  Tensor arguments arrive as
  their raw arrays; constants (Python numbers, ndarrays) and keyword ``params`` as they are.
* ``vjp`` holds one rule per input, ``rule(g, ans, x, y, ..., **params)``, returning the
  gradient of the loss w.r.t. that input given ``g``, the gradient w.r.t. the result ``ans``.
  A variadic primitive (``cat``, ``einsum``) has one rule ``rule(i, g, ans, *xs, **params)``.
  (One whose inputs' gradients come out of one computation, as ``lstm_scan``'s pass back
  through time, computes them all when the first is asked and hands out the others:
  ``_shared`` in ``recurrent.py``.)
* A rule that is the incoming gradient times a derivative, as every one-input elementwise
  primitive's is, says so: ``derivative(lambda ans, x: cos(x))`` is the rule
  ``g * cos(x)``.  The engine then decides where the product is written (on large arrays it
  reuses a buffer rather than allocate one); a rule never manages memory itself.
* The vocabulary is fixed: ``g`` incoming cotangent, ``ans`` the forward result, ``x, y`` the
  inputs, ``t`` a tangent.  A rule may return ``None`` for a structurally zero gradient.
* A rule may return a gradient of the *broadcast* shape or of another float dtype: the engine
  sums it down to the input's shape and casts it to the input's dtype, once, for every rule.
* ``save_inputs``/``save_ans`` say which values the rules read.  The node keeps only those (an
  input that is not saved arrives as ``None``), so memory is released as early as possible.
  ``reads`` refines this per rule: ``mul``'s rule for ``x`` reads only ``y`` (``(1,)``);
  ``"ans"`` among them says that the rule reads the result.  A value changed in place after
  it was saved is then an error only when a rule that runs reads it, as in PyTorch.
* What the forward computes on the way and the rules need too (a normalisation's moments, a
  recurrent scan's activations) travels in a parameter of a :class:`~table.Scratch` subclass:
  the caller passes an empty one at each call, the forward fills it, the rules read it (and
  compute the values themselves when given None or an empty one).  ``chainrule.compile``'s
  plan makes a new one at each replay and saves it for that call's backward pass.
* Rules are written with the primitives of this package and Python operators only.  In a plain
  backward pass they receive ndarrays and run as NumPy; with ``create_graph=True`` they receive
  Tensors and are recorded, which is how every primitive gets its higher derivatives.
* ``jvp`` gives forward mode, the Jacobian-vector product ``J t``.  Most primitives name the
  shape of their Jacobian and need no rule of their own (``chainrule/forward.py`` derives it):

  ``"diagonal"``   elementwise (with broadcasting): ``J t = J^T t``, so each input's VJP rule
                   applied to that input's tangent gives its contribution;
  ``"symmetric"``  ``J = J^T`` (softmax): likewise;
  ``"linear"``     the primitive is linear in its tensor inputs: apply it to the tangents;
  ``"bilinear"``   linear in each input separately (matmul, einsum): the sum over inputs of the
                   primitive with that input replaced by its tangent;
  ``"reduction"``  ``ans`` reduces elementwise terms: sum over the reduced axes of
                   ``t * (VJP of ones)``.

  Anything else gives a function ``jvp(ts, ans, x, y, ..., **params)`` of the tangents ``ts``
  (``None`` for an input without one).
* ``batch`` says how ``vmap`` batches the primitive (``chainrule/batching.py`` derives the
  rule from a kind, as forward mode does from ``jvp``'s):

  ``"elementwise"``  broadcasting: the batch axis is aligned and NumPy does the rest;
  ``"reduction"``    params ``axis`` and ``x_shape``: the axes shift past the batch;
  ``"axis"``         a shape-preserving op along ``axis`` (softmax, cumsum, flip): shifted;
  ``"shape"``        params ``shape``/``x_shape`` gain the batch, ``axes`` shift, ``reps`` a 1.

  Anything else gives a rule ``rule(prim, values, batched, size, **params)`` (``matmul``,
  ``getitem``): the values unwrapped, batch at axis 0, one flag per value saying whether it is
  batched; it returns the batched result, batch at axis 0.  ``batch`` is optional while vmap
  grows (``tests/rules/test_batching.py`` lists the primitives without one).

Every primitive must have an entry in ``tests/rules/primitive_specs.py``; the suite fails
otherwise.
"""

from chainrule.rules.convolution import conv, conv_transpose, conv_weight
from chainrule.rules.decompositions import (
    cholesky,
    eigh,
    eigh_vectors,
    eigvalsh,
    qr,
    svd,
    svd_vectors,
    svdvals,
)
from chainrule.rules.eig import eig, eig_vectors, eigvals
from chainrule.rules.elementwise import (
    abs,
    add,
    angle,
    ceil,
    clamp,
    conj,
    cos,
    div,
    dropout,
    exp,
    expm1,
    floor,
    imag_part,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    real_part,
    relu,
    remainder,
    round,
    sigmoid,
    sigmoid_backward,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tan,
    tanh,
    tanh_backward,
    threshold_backward,
    trunc,
    where,
)
from chainrule.rules.elementwise_math import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cosh,
    deg2rad,
    exp2,
    fmax,
    fmin,
    hypot,
    log2,
    log10,
    logaddexp2,
    rad2deg,
    sinc,
    sinh,
)
from chainrule.rules.elementwise_numpy import cbrt, erf, erfc, float_power, fmod, i0, i1, ldexp
from chainrule.rules.fft import SWAPPED_NORM, fftn, ifftn, irfftn, rfftn
from chainrule.rules.linalg import (
    Factors,
    det,
    dot,
    einsum,
    inv,
    linear,
    logabsdet,
    lstsq,
    lstsq_solved,
    matmul,
    pinv,
    slogdet,
    solve,
)
from chainrule.rules.losses import softmax_cross_entropy, softmax_minus_one_hot
from chainrule.rules.lstm_layer import lstm_scan, lstm_scan_states
from chainrule.rules.pooling import (
    avg_pool,
    avg_pool_backward,
    max_pool,
    max_pool_backward,
    max_pool_gather,
)
from chainrule.rules.recurrent import (
    gru_scan,
    gru_scan_states,
    lstm_cell,
    lstm_gates,
    lstm_hidden,
)
from chainrule.rules.reductions import (
    amax,
    amin,
    log_softmax,
    logsumexp,
    max_all,
    min_all,
    reduce_mean,
    reduce_std,
    reduce_sum,
    softmax,
    standardize,
    vector_norm,
)
from chainrule.rules.scans import (
    cumprod,
    cumsum,
    extremum_along,
    reduce_prod,
    sort,
    sorted_along,
)
from chainrule.rules.shape import (
    add_along,
    along_index,
    batched_index,
    broadcast_to,
    cast,
    cat,
    clone,
    copy_slices,
    flip,
    getitem,
    index_add,
    index_put,
    repeat,
    replayed_take,
    reshape,
    sum_to,
    take_along,
    take_at,
    traced_index,
    transpose,
)
from chainrule.rules.table import (
    REGISTRY,
    batched,
    derivative,
    numpy2_promotion,
    per_example,
    primitive,
)

