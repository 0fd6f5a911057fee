"""Run JAG graphs on the C runtime (runtimes/c) in-process, through cffi in ABI mode.

    import jag
    out = graph.execute(x, backend="c")              # same arguments as graph(x)
    outs = jag.runtimes.c.run(graph, [x])            # flat: one array per graph input

The library is ``runtimes/c/build/libjag.so`` of this repository (build it with
``make -C runtimes/c``), or the file named by the environment variable ``JAG_LIBJAG``.
A graph is handed to C as its JSON text (tensors inline), loaded once and cached on the
graph object; inputs are converted exactly as the numpy reference does
(:func:`jag.interpret.bind_inputs`) and borrowed by C for the run; outputs are copied
into new numpy arrays. Errors raised by C become the matching :mod:`jag.errors` class
(E_SHAPE -> ShapeError, ...), with the C runtime's one-line message.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import numpy as np

from .. import errors, spec

_CDEF = """
struct jag_error { int status; int64_t node; char message[512]; };
struct jag_tensor { int dtype; int32_t ndim; int64_t shape[16]; void *data; size_t nbytes; };
struct jag_value_info { const char *name; int dtype; int32_t ndim; const int64_t *shape; const char *const *dim_exprs; };
struct jag_model_params { bool verify_sha256; int64_t max_file_bytes; int32_t max_json_depth; };
struct jag_model;
struct jag_model_params jag_model_default_params(void);
int jag_model_load_json(const char *json, size_t len, const char *folder, const char *name,
                        const struct jag_model_params *params, struct jag_model **model, struct jag_error *err);
int jag_model_load_file(const char *path, const struct jag_model_params *params, struct jag_model **model,
                        struct jag_error *err);
void jag_model_free(struct jag_model *model);
const struct jag_error *jag_model_last_error(const struct jag_model *model);
int32_t jag_model_n_inputs(const struct jag_model *model);
int32_t jag_model_n_outputs(const struct jag_model *model);
bool jag_model_output_info(const struct jag_model *model, int32_t index, struct jag_value_info *info);
int jag_model_set_input(struct jag_model *model, int32_t index, int dtype, int32_t ndim, const int64_t *shape,
                        const void *data, int bind);
int jag_model_run(struct jag_model *model);
bool jag_model_get_output(const struct jag_model *model, int32_t index, struct jag_tensor *out);
bool jag_model_memory(const struct jag_model *model, int64_t *arena_bytes, int64_t *total_bytes);
const char *jag_status_to_string(int status);
const char *jag_version(void);
"""

#: enum jag_dtype is generated in the order of spec/ops.json "dtypes"
DTYPES = tuple(spec.DTYPE_NAMES)
#: JAG_MAX_DIMS of include/jag.h (the struct jag_tensor layout in _CDEF uses it; tested)
MAX_DIMS = 16
BIND_BORROW = 1

_NODE_CONTEXT = re.compile(r"^node (?P<node>\d+)(?: '(?P<name>.*?)')? \((?P<op>[a-z0-9_]+)\): (?P<detail>.*)$", re.S)
_NODE_CONTEXT = re.compile(r"^node (?P<node>\d+)(?: '(?P<name>.*?)')? \((?P<op>[a-z0-9_]+)\): (?P<detail>.*)$", re.S)
_lock = threading.Lock()
_lib = None
_ffi = None


def library_path() -> Path:
    env = os.environ.get("JAG_LIBJAG")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "runtimes" / "c" / "build" / "libjag.so"


def _load():
    global _lib, _ffi
    with _lock:
        if _lib is None:
            import cffi
            path = library_path()
            if not path.exists():
                raise errors.FileError(f"the C runtime library {path} does not exist: build it with "
                                       f"`make -C runtimes/c` from the repository root (or set JAG_LIBJAG)")
            ffi = cffi.FFI()
            ffi.cdef(_CDEF)
            _lib = ffi.dlopen(str(path))
            _ffi = ffi
    return _lib, _ffi


def _raise(err_status: int, message: str):
    """Turn a C error into the jag.errors class of its code."""
    lib, ffi = _load()
    code = ffi.string(lib.jag_status_to_string(err_status)).decode()
    cls = errors.ERROR_CLASSES.get(code)
    if cls is None:  # OUT_OF_MEMORY
        raise MemoryError(message)
    detail = message
    prefix = f"[{code}] "
    if detail.startswith(prefix):
        detail = detail[len(prefix):]
    m = _NODE_CONTEXT.match(detail)
    if m:
        raise cls(m["detail"], node=int(m["node"]), node_name=m["name"], op=m["op"])
    raise cls(detail)


class Model:
    """A graph loaded into the C runtime (owns a struct jag_model)."""

    def __init__(self, json_text: str, name: str | None = None):
        """Load a model from its JSON text (tensors inline; ``name`` is used in messages).
        Raises the jag.errors class of the C loader's code."""
        data = json_text.encode()
        self._open(lambda lib, ffi, out, err: lib.jag_model_load_json(
            data, len(data), ffi.NULL, name.encode() if name else ffi.NULL, ffi.NULL, out, err))

    @classmethod
    def from_file(cls, path) -> "Model":
        """Load a model.json (with its sidecars) through the C loader."""
        self = cls.__new__(cls)
        self._open(lambda lib, ffi, out, err: lib.jag_model_load_file(str(path).encode(), ffi.NULL, out, err))
        return self

    def _open(self, load):
        lib, ffi = _load()
        self._lib, self._ffi = lib, ffi
        out = ffi.new("struct jag_model **")
        err = ffi.new("struct jag_error *")
        status = load(lib, ffi, out, err)
        if status != 0:
            _raise(status, ffi.string(err.message).decode(errors="replace"))
        self._ptr = ffi.gc(out[0], lib.jag_model_free)
        self.n_inputs = lib.jag_model_n_inputs(self._ptr)
        self.n_outputs = lib.jag_model_n_outputs(self._ptr)
        self._lock = threading.Lock()

    def _fail(self, status):
        e = self._lib.jag_model_last_error(self._ptr)
        _raise(status, self._ffi.string(e.message).decode(errors="replace"))

    def run(self, arrays: list) -> list:
        """Run on one C-contiguous numpy array per graph input (dtype and shape checked by C)."""
        lib, ffi = self._lib, self._ffi
        if len(arrays) != self.n_inputs:
            raise errors.InputError(f"expected {self.n_inputs} inputs, got {len(arrays)}")
        with self._lock:
            keep = []
            for i, a in enumerate(arrays):
                a = np.asarray(a)
                if not a.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
                    a = a.copy(order="C")
                if a.dtype.name not in DTYPES:
                    raise errors.InputError(f"input {i} has dtype {a.dtype.name}, which JAG does not have")
                if a.ndim > MAX_DIMS:
                    raise errors.InputError(f"input {i} has rank {a.ndim}; the C runtime supports at most {MAX_DIMS}")
                keep.append(a)
                shape = ffi.new("int64_t[]", list(a.shape) or [0])
                status = lib.jag_model_set_input(self._ptr, i, DTYPES.index(a.dtype.name), a.ndim, shape,
                                                 ffi.cast("void *", a.ctypes.data), BIND_BORROW)
                if status != 0:
                    self._fail(status)
            status = lib.jag_model_run(self._ptr)
            if status != 0:
                self._fail(status)
            outs = []
            t = ffi.new("struct jag_tensor *")
            for k in range(self.n_outputs):
                if not lib.jag_model_get_output(self._ptr, k, t):
                    raise errors.InternalError(f"output {k} is missing after a successful run")
                shape = tuple(t.shape[d] for d in range(t.ndim))
                dtype = np.dtype(DTYPES[t.dtype])
                buf = ffi.buffer(t.data, t.nbytes) if t.nbytes else b""
                outs.append(np.frombuffer(buf, dtype=dtype).reshape(shape).copy())
            return outs

    def memory(self) -> tuple:
        """(arena bytes, sum of intermediates' bytes) of the last prepare."""
        a = self._ffi.new("int64_t *")
        b = self._ffi.new("int64_t *")
        self._lib.jag_model_memory(self._ptr, a, b)
        return a[0], b[0]


def model_for(graph) -> Model:
    """The C model of a jag Graph, loaded once and cached on the graph."""
    cached = getattr(graph, "_c_model", None)
    if cached is None:
        cached = Model(graph.to_json(), name=None)
        graph._c_model = cached
    return cached


def run(graph, inputs) -> list:
    """Run ``graph`` on the C runtime. ``inputs``: one value per graph input (list) or a
    dict by input name; values are converted as by the reference interpreter. Returns the
    outputs as a list of numpy arrays."""
    from ..interpret import bind_inputs
    if isinstance(inputs, dict):
        missing = [vi.name for vi in graph.inputs if vi.name not in inputs]
        if missing:
            raise errors.InputError(f"missing inputs: {', '.join(missing)}")
        inputs = [inputs[vi.name] for vi in graph.inputs]
    arrays, _ = bind_inputs(graph, list(inputs))
    return model_for(graph).run(arrays)
