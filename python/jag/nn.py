"""``jag.nn``: neural-network layers, initializers and losses over one nested dict of parameters.

A functional core, as in Flax / Haiku: a :class:`Module` only *describes* a layer; its
parameters live outside it, in a pytree (nested dicts of numpy arrays) that you pass in::

    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    params = model.init(seed=0)            # {"0": {"weight", "bias"}, "2": {...}}
    logits = model.apply(params, x)        # pure: eager on numpy arrays, traceable with jag.trace
    loss = nn.cross_entropy(logits, y)

``apply(params, x, *, rng=None, train=False)`` uses jag ops only, so the same call runs
eagerly (results are :class:`jag.Tensor` holding values; ``np.asarray`` them) and under
:func:`jag.trace` / ``jag.grad`` (the params pytree becomes graph inputs). ``rng`` is an
int64 key (a Python int, a 0-d array or a traced scalar) used by :class:`Dropout` in
training mode; containers split it for their stochastic children (:func:`split_key`).
For interactive use a module also carries its own parameters: ``Linear(3, 4, seed=1)(x)``
initialises them lazily with its seed (default 0); ``parameters()`` returns them.

Layouts, parameter names, default initialisation and forward semantics follow PyTorch
(``torch.nn``): ``Linear.weight`` is [out, in], convolutions and pooling are NCHW,
``init`` reproduces torch's default distributions (not its random streams). Where JAG
differs it says so: attention layers take batch-first [..., L, E] inputs (PyTorch's
``batch_first=True``), and ``cross_entropy`` takes the class axis last (``axis=-1``).

Randomness of ``init``: ``init(seed)`` is deterministic. A leaf module draws from
``np.random.default_rng(seed)``; a container spawns one ``np.random.SeedSequence`` child
per submodule (``SeedSequence(seed).spawn(n)``), so a submodule's parameters depend only
on the seed and its position. Parameterless modules (activations, pooling, Dropout)
contribute no entry to the params dict.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers

import numpy as np

from . import functional as F
from .errors import AttrError, DTypeError, IndexOutOfRangeError, InputError, ShapeError
from .tensor import Tensor, apply, astype, constant, current_scope, name_scope

__all__ = [
    "Module", "Sequential", "Lambda", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "LayerNorm", "Embedding",
    "Dropout", "Flatten", "ReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "MultiHeadAttention",
    "TransformerEncoderLayer", "relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "split_key",
    "calculate_gain", "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal", "normal", "uniform",
    "zeros", "ones", "cross_entropy", "mse",
]


# ====================================================================== helpers

def _dtype_of(x) -> str:
    return x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype.name


def _shape_of(x) -> tuple:
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)


def _generator(rng) -> np.random.Generator:
    """A numpy Generator from an int seed, a SeedSequence or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise InputError("an initializer needs rng= (an int seed or a numpy Generator)")
    return np.random.default_rng(rng)


def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative int or a numpy SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _check_p(p, what="dropout probability"):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise AttrError(f"{what} must be in [0, 1), got {p!r}", field="p")
    return float(p)


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise AttrError(f"{name} must be a positive int, got {v!r}", field=name)
    return int(v)


def split_key(key, num: int) -> list:
    """Split an int64 key into ``num`` new int64 scalar keys, deterministically (as ``jax.random.split``).

    The new keys are ``cast(random_uniform(key)[shape=[num], float64] * 2**53, int64)``:
    53-bit keys drawn from the key's own Threefry stream (spec/README.md §11), so the
    split is bit-identical on every runtime and traces into core ops. ``key`` is a Python
    int, an int64 0-d array or a traced int64 scalar; returns a list of int64 0-d Tensors.
    """
    u = apply("random_uniform", key, shape=[num], dtype="float64")
    keys = apply("cast", apply("multiply", u, constant(2.0 ** 53)), dtype="int64")
    return [apply("reshape", apply("slice", keys, axes=[0], starts=[i], stops=[i + 1]), shape=[]) for i in range(num)]


def _child_keys(rng, train, modules) -> list:
    """One key (or None) per module: stochastic modules share ``rng`` by :func:`split_key`."""
    if rng is None or not train:
        return [None] * len(modules)
    needy = [i for i, m in enumerate(modules) if m.stochastic]
    keys = [None] * len(modules)
    if len(needy) == 1:
        keys[needy[0]] = rng
    elif needy:
        for i, k in zip(needy, split_key(rng, len(needy))):
            keys[i] = k
    return keys


# ====================================================================== Module

class Module:
    """Base class of layers: ``init(seed) -> params`` and pure ``apply(params, x, *, rng, train)``.

    Subclasses define ``init`` (a nested dict of numpy arrays; ``{}`` when the module has
    no parameters) and ``apply``; containers list their submodules in ``children()``.
    ``module(x)`` is ``apply(module.parameters(), x)`` with the module's own parameters,
    initialised on first use from the ``seed`` given to the constructor (default 0).

    Node names: every subclass's ``apply`` runs in a name scope, so the ops it records get
    the module's dotted path from the outermost running module as node name (the names
    of ``children()``: ``encoder.layer.3.attention.self.key``; the outermost module's own
    ops keep None; an explicit ``name=`` wins). ``print(graph)`` shows them, the saved
    JSON keeps them, and ``graph.render(..., collapse="module")`` draws one box per path.
    """

    seed = 0
    _params = None

    def __init_subclass__(cls, **kwargs):
        """Wrap each subclass's own ``apply`` so the nodes it records are named by module path."""
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("apply")
        if fn is not None and not getattr(fn, "_jag_scoped", False):
            cls.apply = _scoped_apply(fn)

    def init(self, seed=0) -> dict:
        """Parameters, deterministic from ``seed`` (a non-negative int or a SeedSequence)."""
        kids = self.children()
        if not kids:
            return {}
        params = {}
        for (name, m), s in zip(kids.items(), _seed_sequence(seed).spawn(len(kids))):
            p = m.init(s)
            if p:
                params[name] = p
        return params

    def apply(self, params, x, *, rng=None, train=False):
        raise NotImplementedError(f"{type(self).__name__}.apply")

    def children(self) -> dict:
        """Submodules by name (their params are ``params[name]``); ``{}`` for a leaf module."""
        return {}

    @property
    def stochastic(self) -> bool:
        """True when ``apply`` needs an ``rng`` key in training mode."""
        return any(m.stochastic for m in self.children().values())

    def parameters(self) -> dict:
        """This module's own parameters (initialised with its seed on first use)."""
        if self._params is None:
            self._params = self.init(self.seed)
        return self._params

    def set_parameters(self, params) -> "Module":
        """Use ``params`` for ``module(x)`` from now on; returns self."""
        self._params = params
        return self

    def __call__(self, *args, rng=None, train=False, **kwargs):
        return self.apply(self.parameters(), *args, rng=rng, train=train, **kwargs)

    def __repr__(self):
        args = []
        for p in list(inspect.signature(type(self).__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(self, p.name):
                continue
            v = getattr(self, p.name)
            if p.default is p.empty:
                args.append(repr(v))
            elif v is not p.default and v != p.default:
                args.append(f"{p.name}={v!r}")
        return f"{type(self).__name__}({', '.join(args)})"


def _scoped_apply(fn):
    """``fn`` (a Module's ``apply``) run inside the module's :func:`jag.tensor.name_scope`.

    The module's path is found from the innermost running module (the parent): its name
    in the parent's ``children()`` (by identity; a grandchild called directly gets the
    names of both levels), else the attribute of the parent that holds it (``self.fc``,
    ``self.blocks[2]``, ``self.heads["q"]``). The outermost module has path "".
    A module applied again from its own ``apply`` (``super().apply(...)``) or one the
    parent does not hold (made on the fly) adds no level: its nodes take the parent's path.
    """
    @functools.wraps(fn)
    def apply(self, *args, **kwargs):
        stack = current_scope()
        if stack and stack[-1][0] is self:
            return fn(self, *args, **kwargs)
        path = module_path(stack[-1][0], stack[-1][1], self) if stack else ""
        with name_scope(path, self):
            return fn(self, *args, **kwargs)
    apply._jag_scoped = True
    return apply


def _children_path(parent, child):
    """The dotted name of ``child`` below ``parent`` by the names of ``children()``, breadth first; or None."""
    queue, seen = [(parent, "")], set()
    while queue:
        m, prefix = queue.pop(0)
        if id(m) in seen or not isinstance(m, Module):
            continue
        seen.add(id(m))
        kids = list(m.children().items())
        for n, c in kids:
            if c is child:
                return f"{prefix}{n}"
        queue += [(c, f"{prefix}{n}.") for n, c in kids]
    return None


def _attribute_path(parent, child):
    """The attribute of ``parent`` holding ``child`` (``fc``, ``blocks.2``, ``heads.q``; leading ``_`` dropped), or None."""
    for attr, v in vars(parent).items():
        name = attr.lstrip("_") or attr
        if v is child:
            return name
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, (list, tuple)) else ()
        for k, m in items:
            if m is child:
                return f"{name}.{k}"
    return None


def module_path(parent, parent_path: str, child) -> str:
    """The dotted path of ``child`` applied while ``parent`` (at ``parent_path``) runs: by the
    names of the parent's ``children()`` (a grandchild called directly gets both names),
    else by the parent's attribute holding it; ``parent_path`` itself when the parent does
    not hold it (a module made on the fly inside ``apply``)."""
    if not isinstance(parent, Module):
        return parent_path
    rel = _children_path(parent, child)
    if rel is None:
        rel = _attribute_path(parent, child)
    if rel is None:
        return parent_path
    return f"{parent_path}.{rel}" if parent_path else rel


class Lambda(Module):
    """A parameterless module around a function of one tensor (``Sequential(..., jag.relu, ...)``)."""

    def __init__(self, fn):
        self.fn = fn

    def apply(self, params, x, *, rng=None, train=False):
        return self.fn(x)

    def __repr__(self):
        return f"Lambda({getattr(self.fn, '__name__', self.fn)!r})"


class Sequential(Module):
    """Modules applied in order (torch.nn.Sequential); params keyed ``"0"``, ``"1"``, … or by name.

    ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))`` or ``Sequential({"fc1": ..., "act": ...})``.
    Plain functions are wrapped in :class:`Lambda`. In training mode ``rng`` is split
    among the stochastic layers. Layers index as ``seq[0]`` / ``seq["fc1"]``.
    """

    def __init__(self, *layers, seed=0):
        if len(layers) == 1 and isinstance(layers[0], dict):
            named = dict(layers[0])
        else:
            named = {str(i): m for i, m in enumerate(layers)}
        for name, m in named.items():
            if not isinstance(name, str) or not name or "." in name:
                raise AttrError(f"Sequential layer names must be non-empty strings without '.', got {name!r}")
            if not isinstance(m, Module):
                if not callable(m):
                    raise AttrError(f"Sequential layer {name!r} is neither a Module nor callable: {m!r}")
                named[name] = Lambda(m)
        self.layers = named
        self.seed = seed

    def children(self):
        return self.layers

    def __getitem__(self, key):
        return self.layers[key] if isinstance(key, str) else list(self.layers.values())[key]

    def __len__(self):
        return len(self.layers)

    def apply(self, params, x, *, rng=None, train=False):
        keys = _child_keys(rng, train, list(self.layers.values()))
        for (name, m), k in zip(self.layers.items(), keys):
            x = m.apply(params.get(name, {}), x, rng=k, train=train)
        return x

    def __repr__(self):
        inner = "".join(f"\n  ({name}): {m!r}" for name, m in self.layers.items())
        return f"Sequential({inner}\n)"


# ====================================================================== initializers
# Each takes (rng, shape, ..., dtype): rng is an int seed, a SeedSequence or a numpy
# Generator (zeros/ones ignore it). The distributions are torch.nn.init's; values are
# drawn in float64 with numpy and rounded to dtype.

_GAINS = {"linear": 1.0, "identity": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "sigmoid": 1.0,
          "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param=None) -> float:
    """torch.nn.init.calculate_gain: 1 (linear, conv, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + a**2)) (leaky_relu with slope ``param``, default 0.01), 3/4 (selu)."""
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity not in _GAINS:
        raise AttrError(f"unknown nonlinearity {nonlinearity!r}; expected leaky_relu or one of {sorted(_GAINS)}")
    return _GAINS[nonlinearity]


def _fans(shape) -> tuple:
    """torch's _calculate_fan_in_and_fan_out: fan_in = shape[1]*receptive, fan_out = shape[0]*receptive."""
    if len(shape) < 2:
        raise ShapeError(f"fan in and fan out need a shape of rank >= 2, got {list(shape)}")
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def _fan(shape, mode):
    fan_in, fan_out = _fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise AttrError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}", field="mode")
    return fan_in if mode == "fan_in" else fan_out


def uniform(rng, shape, low=0.0, high=1.0, dtype="float32") -> np.ndarray:
    """torch.nn.init.uniform_: U(low, high)."""
    return _generator(rng).uniform(low, high, size=tuple(shape)).astype(dtype)


def normal(rng, shape, mean=0.0, std=1.0, dtype="float32") -> np.ndarray:
    """torch.nn.init.normal_: N(mean, std**2)."""
    return _generator(rng).normal(mean, std, size=tuple(shape)).astype(dtype)


def zeros(rng, shape, dtype="float32") -> np.ndarray:
    """torch.nn.init.zeros_ (``rng`` is ignored; it keeps the initializer signature)."""
    return np.zeros(tuple(shape), dtype=dtype)


def ones(rng, shape, dtype="float32") -> np.ndarray:
    """torch.nn.init.ones_ (``rng`` is ignored)."""
    return np.ones(tuple(shape), dtype=dtype)


def kaiming_uniform(rng, shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype="float32") -> np.ndarray:
    """torch.nn.init.kaiming_uniform_ (He et al. 2015): U(-b, b), b = gain * sqrt(3 / fan).

    ``gain = calculate_gain(nonlinearity, a)``; ``fan`` is fan_in (shape[1] * prod(shape[2:]))
    or fan_out (shape[0] * prod(shape[2:])). ``a=sqrt(5)`` gives torch's default Linear/Conv
    weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(shape, mode))
    return uniform(rng, shape, -bound, bound, dtype)


def kaiming_normal(rng, shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype="float32") -> np.ndarray:
    """torch.nn.init.kaiming_normal_: N(0, std**2), std = gain / sqrt(fan)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return normal(rng, shape, 0.0, std, dtype)


def xavier_uniform(rng, shape, gain=1.0, dtype="float32") -> np.ndarray:
    """torch.nn.init.xavier_uniform_ (Glorot & Bengio 2010): U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(rng, shape, -bound, bound, dtype)


def xavier_normal(rng, shape, gain=1.0, dtype="float32") -> np.ndarray:
    """torch.nn.init.xavier_normal_: N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return normal(rng, shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def _torch_default_init(rng, w_shape, bias, dtype, weight_init, bias_init):
    """torch's reset_parameters of Linear/ConvNd: kaiming_uniform(a=sqrt(5)) weight, U(±1/sqrt(fan_in)) bias."""
    rng = _generator(rng)
    if weight_init is None:
        w = kaiming_uniform(rng, w_shape, a=math.sqrt(5), dtype=dtype)
    else:
        w = np.asarray(weight_init(rng, w_shape, dtype=dtype), dtype=dtype)
    params = {"weight": w}
    if bias:
        if bias_init is None:
            fan_in = _fans(w_shape)[0]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            params["bias"] = uniform(rng, (w_shape[0],), -bound, bound, dtype)
        else:
            params["bias"] = np.asarray(bias_init(rng, (w_shape[0],), dtype=dtype), dtype=dtype)
    return params


# ====================================================================== layers

class Linear(Module):
    """torch.nn.Linear: ``y = x @ weight.T + bias`` over the last axis (jag.linear).

    Params: ``weight`` [out_features, in_features], ``bias`` [out_features] (if ``bias``).
    Default init as torch: weight kaiming_uniform(a=sqrt(5)) = U(±1/sqrt(in)), bias
    U(±1/sqrt(in)); ``weight_init`` / ``bias_init`` (initializers, above) override it.
    x: [..., in_features] -> [..., out_features]; E_SHAPE when the last axis differs.
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype="float32", weight_init=None, bias_init=None,
                 seed=0):
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.bias, self.dtype, self.seed = bool(bias), dtype, seed
        self.weight_init, self.bias_init = weight_init, bias_init

    def init(self, seed=0):
        return _torch_default_init(_seed_sequence(seed), (self.out_features, self.in_features), self.bias, self.dtype,
                                   self.weight_init, self.bias_init)

    def apply(self, params, x, *, rng=None, train=False):
        return F.linear(x, params["weight"], params.get("bias"))


def _conv_padding(padding, kernel, dilation):
    """PyTorch padding (int, (ph, pw), 'valid', 'same') -> ONNX [top, left, bottom, right]."""
    if isinstance(padding, str):
        if padding == "valid":
            return [0, 0, 0, 0]
        if padding == "same":  # torch: total = dilation * (k - 1), the extra pixel at the end
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return [tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2]
        raise AttrError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}", field="padding")
    return F._pads(padding)


class Conv2d(Module):
    """torch.nn.Conv2d in NCHW (jag.conv2d): x [N, C_in, H, W] -> [N, C_out, OH, OW].

    Params: ``weight`` [out_channels, in_channels/groups, kh, kw], ``bias`` [out_channels].
    ``kernel_size``, ``stride``, ``dilation``: int or pair; ``padding``: int, pair,
    ONNX [top, left, bottom, right], ``"valid"`` or ``"same"`` (stride 1, torch's split).
    Default init as torch: kaiming_uniform(a=sqrt(5)) weight, bias U(±1/sqrt(fan_in)) with
    fan_in = in_channels/groups * kh * kw. E_ATTR when channels do not divide by groups.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 *, dtype="float32", weight_init=None, bias_init=None, seed=0):
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.groups = _positive_int(groups, "groups")
        if in_channels % groups or out_channels % groups:
            raise AttrError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by "
                            f"groups ({groups})", field="groups")
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation
        self.padding, self.bias, self.dtype, self.seed = padding, bool(bias), dtype, seed
        self.weight_init, self.bias_init = weight_init, bias_init
        self._kernel, self._dil = F._pair(kernel_size), F._pair(dilation)
        if padding == "same" and F._pair(stride) != [1, 1]:
            raise AttrError("padding='same' needs stride 1 (as torch)", field="padding")
        self._pads = _conv_padding(padding, self._kernel, self._dil)

    def init(self, seed=0):
        shape = (self.out_channels, self.in_channels // self.groups, *self._kernel)
        return _torch_default_init(_seed_sequence(seed), shape, self.bias, self.dtype, self.weight_init, self.bias_init)

    def apply(self, params, x, *, rng=None, train=False):
        return F.conv2d(x, params["weight"], params.get("bias"), stride=self.stride, padding=self._pads,
                        dilation=self.dilation, groups=self.groups)


class MaxPool2d(Module):
    """torch.nn.MaxPool2d (ceil_mode=False) in NCHW; ``stride`` defaults to ``kernel_size``; padding pads -inf."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def apply(self, params, x, *, rng=None, train=False):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    """torch.nn.AvgPool2d (ceil_mode=False) in NCHW; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def apply(self, params, x, *, rng=None, train=False):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)


class LayerNorm(Module):
    """torch.nn.LayerNorm over the trailing dims ``normalized_shape`` (an int or a tuple).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance, over the
    last ``len(normalized_shape)`` axes (jag.layer_norm). Params (if
    ``elementwise_affine``): ``weight`` = ones, ``bias`` = zeros (if ``bias``), of shape
    ``normalized_shape``. E_SHAPE when x's trailing dims differ.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *, dtype="float32", seed=0):
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
        self.normalized_shape = tuple(_positive_int(d, "normalized_shape") for d in shape)
        self.eps, self.elementwise_affine, self.bias, self.dtype, self.seed = eps, elementwise_affine, bias, dtype, seed

    def init(self, seed=0):
        if not self.elementwise_affine:
            return {}
        params = {"weight": np.ones(self.normalized_shape, self.dtype)}
        if self.bias:
            params["bias"] = np.zeros(self.normalized_shape, self.dtype)
        return params

    def apply(self, params, x, *, rng=None, train=False):
        shape = _shape_of(x)
        n = len(self.normalized_shape)
        if tuple(shape[len(shape) - n:]) != self.normalized_shape:
            raise ShapeError(f"LayerNorm{list(self.normalized_shape)} got an input of shape {list(shape)}")
        return F.layer_norm(x, params.get("weight"), params.get("bias"), eps=self.eps, axis=-n)


class Embedding(Module):
    """torch.nn.Embedding: ``weight[indices]`` (jag.embedding); indices any shape -> [..., embedding_dim].

    Params: ``weight`` [num_embeddings, embedding_dim], initialised N(0, 1) as torch.
    Integer indices only; out-of-range indices raise E_INDEX.
    """

    def __init__(self, num_embeddings, embedding_dim, *, dtype="float32", seed=0):
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim")
        self.dtype, self.seed = dtype, seed

    def init(self, seed=0):
        return {"weight": normal(_seed_sequence(seed), (self.num_embeddings, self.embedding_dim), dtype=self.dtype)}

    def apply(self, params, indices, *, rng=None, train=False):
        return apply("embedding", indices, params["weight"])


class Dropout(Module):
    """torch.nn.Dropout: in training, zero each element with probability ``p`` and scale the rest by 1/(1-p).

    Uses the ``dropout`` op, whose mask comes from JAG's counter-based generator keyed by
    the int64 ``rng`` given to ``apply`` (bit-identical on every runtime, spec §11); with
    ``train=False`` (or p = 0) it is the identity. E_INPUT when training without ``rng``;
    E_ATTR for p outside [0, 1).
    """

    def __init__(self, p=0.5):
        self.p = _check_p(p)

    @property
    def stochastic(self):
        return self.p > 0

    def apply(self, params, x, *, rng=None, train=False):
        if not train or self.p == 0:
            return x
        if rng is None:
            raise InputError("Dropout in training mode needs rng= (an int64 key)")
        return F.dropout(x, rng, p=self.p)


class Flatten(Module):
    """torch.nn.Flatten: merge axes ``start_dim..end_dim`` (default 1..-1) into one (dims may be symbolic)."""

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def apply(self, params, x, *, rng=None, train=False):
        shape = list(_shape_of(x))
        r = len(shape)
        s, e = self.start_dim % r if r else 0, self.end_dim % r if r else 0
        if not (-r <= self.start_dim < r and -r <= self.end_dim < r) or s > e:
            raise AttrError(f"Flatten({self.start_dim}, {self.end_dim}) does not fit an input of rank {r}",
                            field="start_dim")
        merged = 1
        for d in shape[s:e + 1]:
            merged = merged * d
        return F.reshape(x, shape[:s] + [merged] + shape[e + 1:])


# ---------------------------------------------------------------------- activations

def relu(x):
    """torch.nn.functional.relu: max(x, 0)."""
    return apply("relu", x)


def gelu(x, approximate="none"):
    """torch.nn.functional.gelu: x * Phi(x) (``approximate="tanh"``: the tanh form)."""
    return apply("gelu", x, approximate=approximate)


def sigmoid(x):
    """torch.sigmoid: 1 / (1 + exp(-x))."""
    return apply("sigmoid", x)


def tanh(x):
    """torch.tanh."""
    return apply("tanh", x)


def softmax(x, axis=-1):
    """torch.softmax along ``axis`` (numerically stable)."""
    return apply("softmax", x, axis=axis)


def log_softmax(x, axis=-1):
    """torch.log_softmax along ``axis`` (numerically stable)."""
    return apply("log_softmax", x, axis=axis)


class _Activation(Module):
    def apply(self, params, x, *, rng=None, train=False):
        return self._fn(x)


class ReLU(_Activation):
    """torch.nn.ReLU."""
    _fn = staticmethod(relu)


class Sigmoid(_Activation):
    """torch.nn.Sigmoid."""
    _fn = staticmethod(sigmoid)


class Tanh(_Activation):
    """torch.nn.Tanh."""
    _fn = staticmethod(tanh)


class GELU(Module):
    """torch.nn.GELU(approximate="none" | "tanh")."""

    def __init__(self, approximate="none"):
        self.approximate = approximate

    def apply(self, params, x, *, rng=None, train=False):
        return gelu(x, self.approximate)


class Softmax(Module):
    """torch.nn.Softmax(dim) — here ``axis``, default -1."""

    def __init__(self, axis=-1):
        self.axis = axis

    def apply(self, params, x, *, rng=None, train=False):
        return softmax(x, self.axis)


class LogSoftmax(Softmax):
    """torch.nn.LogSoftmax(dim) — here ``axis``, default -1."""

    def apply(self, params, x, *, rng=None, train=False):
        return log_softmax(x, self.axis)


_ACTIVATIONS = {"relu": relu, "gelu": gelu, "sigmoid": sigmoid, "tanh": tanh}


# ---------------------------------------------------------------------- attention

class MultiHeadAttention(Module):
    """torch.nn.MultiheadAttention (batch_first=True, need_weights=False), over inputs [..., L, E].

    ``apply(params, query, key=None, value=None, *, mask=None, key_padding_mask=None, rng, train)``:
    query [..., L, E], key/value [..., S, E] (default: self-attention, key = value = query).
    Each head h of size D = E / num_heads computes
    ``softmax(q_h @ k_h.T / sqrt(D) + mask) @ v_h`` (attention dropout ``dropout`` in
    training), the heads are concatenated and projected: returns [..., L, E].

    ``mask`` (torch's ``attn_mask``) broadcasts to [..., num_heads, L, S]: bool, where True
    means "may not attend" (set to -inf), or float, added to the scores.
    ``key_padding_mask`` [..., S] bool, True for padding keys. A query whose keys are all
    masked gives NaN, as in torch.

    Params: ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``, each {"weight" [E, E], "bias" [E]}
    (torch keeps q/k/v as one ``in_proj_weight`` [3E, E]; these are its three row blocks).
    Init as torch: the q/k/v weights xavier_uniform over the stacked [3E, E] matrix
    (U(±sqrt(6 / 4E))), their biases zeros, out_proj weight U(±1/sqrt(E)) and bias zeros.
    E_ATTR when num_heads does not divide embed_dim.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, *, dtype="float32", seed=0):
        self.embed_dim = _positive_int(embed_dim, "embed_dim")
        self.num_heads = _positive_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise AttrError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})", field="num_heads")
        self.dropout, self.bias, self.dtype, self.seed = _check_p(dropout), bool(bias), dtype, seed
        self._proj = {n: Linear(embed_dim, embed_dim, bias, dtype=dtype)
                      for n in ("q_proj", "k_proj", "v_proj", "out_proj")}
        self._drop = Dropout(dropout)

    def children(self):
        return dict(self._proj, dropout=self._drop)

    def init(self, seed=0):
        rng = _generator(_seed_sequence(seed))
        e, dt = self.embed_dim, self.dtype
        in_proj = xavier_uniform(rng, (3 * e, e), dtype=dt)
        params = {}
        for i, n in enumerate(("q_proj", "k_proj", "v_proj")):
            params[n] = {"weight": in_proj[i * e:(i + 1) * e].copy()}
        params["out_proj"] = {"weight": kaiming_uniform(rng, (e, e), a=math.sqrt(5), dtype=dt)}
        if self.bias:
            for n in params:
                params[n]["bias"] = np.zeros(e, dt)
        return params

    def _heads(self, t):
        """[..., L, E] -> [..., H, L, D]."""
        shape = list(_shape_of(t))
        r = len(shape)
        t = F.reshape(t, shape[:-1] + [self.num_heads, self.embed_dim // self.num_heads])
        return F.transpose(t, list(range(r - 2)) + [r - 1, r - 2, r])

    def apply(self, params, query, key=None, value=None, *, mask=None, key_padding_mask=None, rng=None, train=False):
        key = query if key is None else key
        value = key if value is None else value
        for name, t in (("query", query), ("key", key), ("value", value)):
            shape = _shape_of(t)
            if len(shape) < 2 or shape[-1] != self.embed_dim:
                raise ShapeError(f"MultiHeadAttention: {name} has shape {list(shape)}; "
                                 f"expected [..., L, {self.embed_dim}]")
        q = self._heads(self._proj["q_proj"].apply(params["q_proj"], query))
        k = self._heads(self._proj["k_proj"].apply(params["k_proj"], key))
        v = self._heads(self._proj["v_proj"].apply(params["v_proj"], value))
        r = len(q.shape)
        scores = apply("matmul", q, F.transpose(k, list(range(r - 2)) + [r - 1, r - 2]))
        scores = scores * (1.0 / math.sqrt(self.embed_dim // self.num_heads))
        if mask is not None:
            scores = _mask_scores(scores, mask)
        if key_padding_mask is not None:
            kpm = key_padding_mask if isinstance(key_padding_mask, Tensor) else constant(key_padding_mask)
            if kpm.dtype != "bool":
                raise DTypeError(f"key_padding_mask must be bool (True = padding), got {kpm.dtype}")
            s = list(kpm.shape)
            scores = _mask_scores(scores, F.reshape(kpm, s[:-1] + [1, 1, s[-1]]))
        attn = self._drop.apply({}, softmax(scores, -1), rng=rng, train=train)
        out = apply("matmul", attn, v)                                  # [..., H, L, D]
        shape = list(out.shape)
        out = F.transpose(out, list(range(r - 3)) + [r - 2, r - 3, r - 1])  # [..., L, H, D]
        out = F.reshape(out, shape[:-3] + [shape[-2], self.embed_dim])
        return self._proj["out_proj"].apply(params["out_proj"], out)


def _mask_scores(scores, mask):
    mask = mask if isinstance(mask, Tensor) else constant(mask)
    if mask.dtype == "bool":
        return apply("where", mask, constant(-np.inf, scores.dtype), scores)
    return scores + astype(mask, scores.dtype)


class TransformerEncoderLayer(Module):
    """torch.nn.TransformerEncoderLayer (batch_first=True) on x [..., L, d_model].

    Post-norm (``norm_first=False``, torch's default)::

        x = norm1(x + dropout1(self_attn(x, mask)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    pre-norm (``norm_first=True``): ``x = x + dropout1(self_attn(norm1(x)))``, then
    ``x = x + dropout2(ff(norm2(x)))``. ``dropout`` applies in all four places (attention
    weights included) in training mode, with keys split from ``rng``. ``activation`` is
    "gelu" (exact, JAG's default; torch's default is "relu"), "relu" or a function.
    Params: ``self_attn`` (:class:`MultiHeadAttention`), ``linear1`` [dim_feedforward,
    d_model], ``linear2`` [d_model, dim_feedforward], ``norm1``, ``norm2``; initialised as torch.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="gelu", layer_norm_eps=1e-5,
                 norm_first=False, bias=True, *, dtype="float32", seed=0):
        self.d_model, self.nhead, self.dim_feedforward = d_model, nhead, dim_feedforward
        self.dropout, self.activation, self.layer_norm_eps = dropout, activation, layer_norm_eps
        self.norm_first, self.bias, self.dtype, self.seed = norm_first, bias, dtype, seed
        if isinstance(activation, str):
            if activation not in ("relu", "gelu"):
                raise AttrError(f"activation must be 'relu', 'gelu' or a function, got {activation!r}",
                                field="activation")
            self._act = _ACTIVATIONS[activation]
        else:
            self._act = activation
        self._mods = {
            "self_attn": MultiHeadAttention(d_model, nhead, dropout, bias, dtype=dtype),
            "linear1": Linear(d_model, dim_feedforward, bias, dtype=dtype),
            "dropout": Dropout(dropout),
            "linear2": Linear(dim_feedforward, d_model, bias, dtype=dtype),
            "norm1": LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype),
            "norm2": LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype),
            "dropout1": Dropout(dropout),
            "dropout2": Dropout(dropout),
        }

    def children(self):
        return self._mods

    def apply(self, params, x, *, mask=None, key_padding_mask=None, rng=None, train=False):
        m = self._mods
        k_attn, k_drop, k_drop1, k_drop2 = _child_keys(
            rng, train, [m["self_attn"], m["dropout"], m["dropout1"], m["dropout2"]])

        def sa(t):
            t = m["self_attn"].apply(params["self_attn"], t, mask=mask, key_padding_mask=key_padding_mask,
                                     rng=k_attn, train=train)
            return m["dropout1"].apply({}, t, rng=k_drop1, train=train)

        def ff(t):
            t = self._act(m["linear1"].apply(params["linear1"], t))
            t = m["linear2"].apply(params["linear2"], m["dropout"].apply({}, t, rng=k_drop, train=train))
            return m["dropout2"].apply({}, t, rng=k_drop2, train=train)

        norm1 = lambda t: m["norm1"].apply(params.get("norm1", {}), t)  # noqa: E731
        norm2 = lambda t: m["norm2"].apply(params.get("norm2", {}), t)  # noqa: E731
        if self.norm_first:
            x = x + sa(norm1(x))
            return x + ff(norm2(x))
        x = norm1(x + sa(x))
        return norm2(x + ff(x))


# ====================================================================== losses

def _reduce(loss, reduction):
    if reduction == "mean":
        return F.mean(loss)
    if reduction == "sum":
        return F.sum(loss)
    if reduction == "none":
        return loss
    raise AttrError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}", field="reduction")


def cross_entropy(logits, labels, *, axis=-1, reduction="mean"):
    """torch.nn.functional.cross_entropy from logits, numerically stable (through log_softmax).

    Args:
      logits: float [..., C, ...] with the classes on ``axis`` (default -1: [N, C]).
      labels: either class indices, an integer array of logits' shape without ``axis``
        (loss_i = -log_softmax(logits)_i[label_i]), or class probabilities / one-hot rows,
        a float array of logits' shape (loss_i = -sum_c labels_ic * log_softmax(logits)_ic).
      reduction: "mean" (over all loss terms, as torch), "sum" or "none".
    Returns:
      A float scalar (or the per-example losses for "none"), of logits' dtype.
    Raises:
      ShapeError for mismatched shapes, DTypeError for bool labels, IndexOutOfRangeError
      for a class index outside [0, C) when the labels have values (eagerly and at trace
      time; a traced graph itself gives such rows zero loss).
    The gradient with respect to the logits is softmax - one_hot (the labels get none).
    """
    logits = logits if isinstance(logits, Tensor) else constant(logits)
    rank = len(logits.shape)
    if rank == 0:
        raise ShapeError("cross_entropy needs logits with a class axis, got a scalar")
    ax = axis % rank
    logp = log_softmax(logits, ax)
    ldt = _dtype_of(labels)
    lshape = tuple(_shape_of(labels))
    if ldt.startswith(("int", "uint")):
        want = tuple(d for i, d in enumerate(logits.shape) if i != ax)
        if lshape != want:
            raise ShapeError(f"class-index labels have shape {list(lshape)}; expected {list(want)} "
                             f"(logits {list(logits.shape)} without axis {ax})")
        n_classes = logits.shape[ax]
        values = labels.value if isinstance(labels, Tensor) else np.asarray(labels)
        if values is not None and isinstance(n_classes, int) and values.size and \
                (values.min() < 0 or values.max() >= n_classes):
            bad = values.min() if values.min() < 0 else values.max()
            raise IndexOutOfRangeError(f"label {bad} is out of range for {n_classes} classes", field="labels")
        lab = astype(labels, "int64")
        lab = F.reshape(lab, list(lab.shape[:ax]) + [1] + list(lab.shape[ax:]))
        classes = apply("iota", shape=[n_classes], axis=0, dtype="int64")
        classes = F.reshape(classes, [n_classes] + [1] * (rank - 1 - ax))
        target = astype(apply("equal", lab, classes), logits.dtype)
    elif ldt.startswith("float"):
        if lshape != tuple(logits.shape):
            raise ShapeError(f"probability labels have shape {list(lshape)}; expected the logits' {list(logits.shape)}")
        target = astype(labels, logits.dtype)
    else:
        raise DTypeError(f"labels must be integer class indices or float probabilities, got {ldt}")
    loss = -F.sum(target * logp, axis=ax)
    return _reduce(loss, reduction)


def mse(pred, target, *, reduction="mean"):
    """torch.nn.functional.mse_loss: mean of (pred - target)**2 (broadcasting); "sum" / "none" as torch."""
    d = apply("subtract", pred, target)
    return _reduce(d * d, reduction)
