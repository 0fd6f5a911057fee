"""JAG — Just Another Graph-based deep learning framework.

Trace numpy-style Python into a portable computation graph, save it as a versioned JSON
file, and run the same file on the numpy reference interpreter (here), the C runtime or
the JS runtime::

    import jag
    def f(x, w):
        return (x + w) * x ** 2
    graph = jag.trace(f, 3.0, 1.0)        # a Graph; graph(3.0, 1.0) -> 36.0
    graph.save("model.json")
    jag.load("model.json")(3.0, 1.0)

Public API: ``trace``, ``function``, ``load``, ``loads``, ``Graph``, ``Tensor``, ``apply``,
``constant``, ``grad`` / ``value_and_grad`` / ``vjp`` / ``stop_gradient`` (reverse-mode
autodiff as in JAX; ``loss.backward()`` fills ``leaf.grad`` as in PyTorch),
``jag.nn`` (modules with explicit ``init(seed)`` / pure ``apply(params, x)``, losses) and
``jag.optim`` (SGD, Adam, AdamW as pure functions of params, grads and state),
``save_tensors`` / ``load_tensors`` (safetensors bundles), one function per op
of spec/ops.json (``jag.exp``, ``jag.matmul``, ``jag.conv2d``…), and the error classes of
``jag.errors`` (codes from spec/errors.json).
"""
__version__ = "0.1.0"

from . import errors, spec  # noqa: E402
from .errors import *  # noqa: E402,F401,F403
from .errors import JagError  # noqa: E402
from .symbolic import Dim  # noqa: E402
from .tensor import Tensor, apply, astype, constant  # noqa: E402
from .graph import Graph, Node, ValueInfo  # noqa: E402
from .serialize import load, loads, load_tensors, save_tensors  # noqa: E402
from .trace import function, trace  # noqa: E402
from .autodiff import grad, stop_gradient, value_and_grad, vjp  # noqa: E402
from . import runtimes  # noqa: E402,F401
from . import nn, optim  # noqa: E402,F401
from .execlog import ExecutionLog  # noqa: E402,F401
from .functional import OP_FUNCTIONS as _OP_FUNCTIONS, WRAPPERS as _WRAPPERS  # noqa: E402

globals().update(_OP_FUNCTIONS)
globals().update(_WRAPPERS)

FORMAT_VERSION = spec.FORMAT_VERSION_STR
OPSET = spec.OPSET
