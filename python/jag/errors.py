"""Typed errors for JAG, one class per code of spec/errors.json.

Every error carries the shared code (``err.code``) and the context that locates it:
the model file, the node (index, name, op) and the field. ``str(err)`` is the shared
one-line format of spec/errors.json, e.g.::

    [E_SHAPE] model.json: node 7 'mm1' (matmul): input 1 has shape [4,5]; expected [3,*]

Each class also subclasses the matching Python built-in (ValueError, TypeError, ...), so
``except ValueError`` keeps working, as in JAX's error classes.
"""
from __future__ import annotations


class JagError(Exception):
    """Base of all JAG errors.

    Attributes:
      code: the error code from spec/errors.json (e.g. "E_SHAPE").
      detail: the message without context.
      file: path of the model file involved, or None.
      node: index of the node in ``graph.nodes``, or None.
      node_name: the node's optional ``name``, or None.
      op: the node's op, or None.
      field: the offending field (e.g. "attrs.axis", "inputs[1]", a JSON pointer), or None.
      errors: every problem found when several were collected (``validate``); [self] otherwise.
    """

    code = "E_INTERNAL"

    def __init__(self, detail: str, *, file=None, node=None, node_name=None, op=None, field=None):
        self.detail = detail
        self.file = None if file is None else str(file)
        self.node = node
        self.node_name = node_name
        self.op = op
        self.field = field
        self.errors = [self]
        super().__init__(detail)

    def with_context(self, *, file=None, node=None, node_name=None, op=None, field=None):
        """Fill in context that is still unknown; returns self (for ``raise e.with_context(...)``)."""
        for key, value in (("file", file), ("node", node), ("node_name", node_name), ("op", op), ("field", field)):
            if value is not None and getattr(self, key) is None:
                setattr(self, key, str(value) if key == "file" else value)
        return self

    def location(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}")
        if self.node is not None or self.op is not None:
            where = "node" if self.node is None else f"node {self.node}"
            if self.node_name:
                where += f" '{self.node_name}'"
            if self.op:
                where += f" ({self.op})"
            parts.append(where)
        return ": ".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        text = f"[{self.code}] " + (f"{loc}: " if loc else "") + self.detail
        if len(self.errors) > 1:
            text += f"\n  ... and {len(self.errors) - 1} more problem(s):"
            for other in self.errors[1:]:
                text += "\n  " + str(other).replace("\n", "\n  ")
        return text

    def __reduce__(self):  # picklable despite keyword-only context
        return (_rebuild, (type(self), self.detail, self.file, self.node, self.node_name, self.op, self.field))


def _rebuild(cls, detail, file, node, node_name, op, field):
    return cls(detail, file=file, node=node, node_name=node_name, op=op, field=field)


class JSONFormatError(JagError, ValueError):
    """E_JSON: the model file is not well-formed JSON; the detail gives line and column."""
    code = "E_JSON"


class SchemaError(JagError, ValueError):
    """E_SCHEMA: the document violates spec/jag.schema.json; ``field`` is the JSON pointer."""
    code = "E_SCHEMA"


class VersionError(JagError, ValueError):
    """E_VERSION: a format version or opset this reader does not support."""
    code = "E_VERSION"


class UnknownOpError(JagError, ValueError):
    """E_UNKNOWN_OP: an op that spec/ops.json does not define."""
    code = "E_UNKNOWN_OP"


class ArityError(JagError, TypeError):
    """E_ARITY: wrong number of node inputs or outputs."""
    code = "E_ARITY"


class AttrError(JagError, ValueError):
    """E_ATTR: a missing, unknown, ill-typed or out-of-range attribute."""
    code = "E_ATTR"


class DTypeError(JagError, TypeError):
    """E_DTYPE: a dtype the op does not accept, or dtypes that must agree and do not."""
    code = "E_DTYPE"


class ShapeError(JagError, ValueError):
    """E_SHAPE: incompatible shapes, a bad symbolic expression, or an int64 overflow."""
    code = "E_SHAPE"


class GraphError(JagError, ValueError):
    """E_GRAPH: a value defined twice, used before definition, a cycle, an undefined output."""
    code = "E_GRAPH"


class InputError(JagError, ValueError):
    """E_INPUT: run-time inputs that do not match the graph's declared inputs."""
    code = "E_INPUT"


class TensorDataError(JagError, ValueError):
    """E_TENSOR_DATA: stored bytes that do not match dtype × shape, bad base64, hash mismatch."""
    code = "E_TENSOR_DATA"


class FileError(JagError, OSError):
    """E_FILE: a model or sidecar file that is missing or unreadable."""
    code = "E_FILE"


class PathError(JagError, ValueError):
    """E_PATH: a sidecar path that is not a plain file name in the model's folder."""
    code = "E_PATH"


class IndexOutOfRangeError(JagError, IndexError):
    """E_INDEX: an index value outside [-n, n) (gather, scatter_add, embedding)."""
    code = "E_INDEX"


class InternalError(JagError, RuntimeError):
    """E_INTERNAL: a JAG bug (a kernel disagreed with its own shape/dtype rule)."""
    code = "E_INTERNAL"


#: code -> class; tests check that it covers exactly the codes of spec/errors.json.
ERROR_CLASSES = {cls.code: cls for cls in (
    JSONFormatError, SchemaError, VersionError, UnknownOpError, ArityError, AttrError, DTypeError,
    ShapeError, GraphError, InputError, TensorDataError, FileError, PathError, IndexOutOfRangeError,
    InternalError)}


def raise_collected(errors: list[JagError]):
    """Raise the first of several collected errors, carrying all of them in ``.errors``."""
    if errors:
        first = errors[0]
        first.errors = list(errors)
        raise first
