"""Symbolic dimensions: integer expressions over named dims (spec/README.md, 'Shapes').

A dim in a JAG shape is an ``int`` or a :class:`Dim`, an expression over names with
``+ - * //`` and parentheses, e.g. ``N``, ``N*S``, ``(H-3)//2+1``. A Dim is kept in a
normal form (a polynomial whose atoms are names and floor divisions that could not be
simplified), so equal expressions compare equal: ``Dim('N*S') == Dim('S*N')`` and
``Dim('N+N') == 2*Dim('N')``. A constant expression is returned as a plain int.

``//`` is floor division, as in Python. Names are bound from input shapes at run time
and the expression evaluated with :func:`evaluate`.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import dataclass

from .errors import ShapeError

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_RE = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))")

# Values of named dims while tracing, so that int(dim) works in user code (loops, range()).
_ENV: contextvars.ContextVar[dict | None] = contextvars.ContextVar("jag_dim_env", default=None)


@contextlib.contextmanager
def bound_dims(env: dict):
    """Within this block, ``int(Dim('N'))`` evaluates with ``env`` (used by the tracer)."""
    token = _ENV.set(dict(env))
    try:
        yield
    finally:
        _ENV.reset(token)


def current_env() -> dict | None:
    return _ENV.get()


@dataclass(frozen=True)
class FloorDiv:
    """An atom ``num // den`` that did not simplify."""
    num: object  # int | Dim
    den: object  # int | Dim

    def __str__(self):
        return f"{_paren(self.num)}//{_paren(self.den)}"


def _paren(x) -> str:
    s = str(x)
    if isinstance(x, Dim) and not x._is_atom():
        return f"({s})"
    if isinstance(x, int) and x < 0:
        return f"({s})"
    return s


def _atom_key(atom) -> str:
    return atom if isinstance(atom, str) else "~" + str(atom)


class Dim:
    """A symbolic dimension in normal form; build one with ``Dim('N*S')`` or by arithmetic."""

    __slots__ = ("_terms", "_hash")

    def __new__(cls, expr=None, _terms=None):
        if _terms is None:
            if isinstance(expr, Dim):
                return expr
            parsed = parse(expr)
            if isinstance(parsed, int):
                raise ShapeError(f"'{expr}' is a constant, not a symbolic dim; use the int {parsed}")
            return parsed
        self = object.__new__(cls)
        self._terms = _terms  # tuple of (monomial, coef); monomial = tuple of atoms, sorted
        self._hash = hash(_terms)
        return self

    # --- construction from a polynomial dict
    @staticmethod
    def _from_poly(poly: dict):
        items = tuple(sorted(((m, c) for m, c in poly.items() if c != 0),
                             key=lambda mc: (-len(mc[0]), [_atom_key(a) for a in mc[0]])))
        if not items:
            return 0
        if len(items) == 1 and items[0][0] == ():
            return items[0][1]
        return Dim(_terms=items)

    def _poly(self) -> dict:
        return dict(self._terms)

    def _is_atom(self) -> bool:
        return len(self._terms) == 1 and len(self._terms[0][0]) == 1 and self._terms[0][1] == 1

    @property
    def name(self):
        """The name when this dim is a bare name (``Dim('N')``), else None."""
        if self._is_atom() and isinstance(self._terms[0][0][0], str):
            return self._terms[0][0][0]
        return None

    @property
    def names(self) -> set:
        """Every dim name the expression mentions."""
        out = set()
        for mono, _ in self._terms:
            for atom in mono:
                if isinstance(atom, str):
                    out.add(atom)
                else:
                    for part in (atom.num, atom.den):
                        if isinstance(part, Dim):
                            out |= part.names
        return out

    # --- arithmetic (results are normalised; constants collapse to int)
    def __add__(self, other):
        return add(self, other)

    __radd__ = __add__

    def __sub__(self, other):
        return add(self, mul(other, -1))

    def __rsub__(self, other):
        return add(other, mul(self, -1))

    def __neg__(self):
        return mul(self, -1)

    def __mul__(self, other):
        return mul(self, other)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        return floordiv(self, other)

    def __rfloordiv__(self, other):
        return floordiv(other, self)

    def __eq__(self, other):
        return isinstance(other, Dim) and self._terms == other._terms

    def __hash__(self):
        return self._hash

    def __lt__(self, other):
        raise TypeError(f"cannot order symbolic dim '{self}'; compare int(dim) inside a trace")

    __le__ = __gt__ = __ge__ = __lt__

    # --- concrete value inside a trace (Python control flow specialises to the example value)
    def __index__(self):
        env = _ENV.get()
        if env is None:
            raise ShapeError(f"symbolic dim '{self}' has no value here; int() of a symbolic dim only works while tracing")
        return evaluate(self, env)

    __int__ = __index__

    def __repr__(self):
        return f"Dim('{self}')"

    def __str__(self):
        out = ""
        for mono, coef in self._terms:
            mag = abs(coef)
            product = len(mono) > 1 or coef != 1
            # '*' and '//' bind equally tight, left to right: a floor division inside a product needs parentheses
            body = "*".join(f"({a})" if isinstance(a, FloorDiv) and product else str(a) for a in mono)
            if not mono:
                text = str(mag)
            elif mag == 1:
                text = body
            else:
                text = f"{mag}*{body}"
            if not out:
                out = ("-" + text) if coef < 0 else text
            else:
                out += ("-" if coef < 0 else "+") + text
        return out


def _poly_of(x) -> dict:
    if isinstance(x, Dim):
        return x._poly()
    if isinstance(x, bool) or not isinstance(x, int):
        # numpy integers are fine
        try:
            x = int(x.__index__())
        except Exception:
            raise TypeError(f"not a dim: {x!r}") from None
    return {(): x} if x else {}


def add(a, b):
    if not isinstance(a, Dim) and not isinstance(b, Dim):
        return int(a) + int(b)
    poly = _poly_of(a)
    for m, c in _poly_of(b).items():
        poly[m] = poly.get(m, 0) + c
    return Dim._from_poly(poly)


def mul(a, b):
    if not isinstance(a, Dim) and not isinstance(b, Dim):
        return int(a) * int(b)
    pa, pb = _poly_of(a), _poly_of(b)
    poly: dict = {}
    for ma, ca in pa.items():
        for mb, cb in pb.items():
            m = tuple(sorted(ma + mb, key=_atom_key))
            poly[m] = poly.get(m, 0) + ca * cb
    return Dim._from_poly(poly)


def floordiv(a, b):
    """``a // b`` (floor); exact polynomial division when every term divides."""
    if not isinstance(a, Dim) and not isinstance(b, Dim):
        b = int(b)
        if b == 0:
            raise ShapeError("division by zero in a shape expression")
        return int(a) // b
    if not isinstance(b, Dim):
        b = int(b)
        if b == 0:
            raise ShapeError("division by zero in a shape expression")
        if b == 1:
            return a
        pa = _poly_of(a)
        if all(c % b == 0 for c in pa.values()):
            return Dim._from_poly({m: c // b for m, c in pa.items()})
        return Dim._from_poly({(FloorDiv(a, b),): 1})
    q = exact_div(a, b)
    if q is not None:
        return q
    return Dim._from_poly({(FloorDiv(a, b),): 1})


def exact_div(a, b):
    """``a / b`` when b is a single term that divides every term of a; else None."""
    pb = _poly_of(b)
    if len(pb) != 1:
        return None
    (mb, cb), = pb.items()
    out = {}
    for ma, ca in _poly_of(a).items():
        rest = list(ma)
        for atom in mb:
            if atom in rest:
                rest.remove(atom)
            else:
                return None
        if ca % cb:
            return None
        out[tuple(rest)] = ca // cb
    return Dim._from_poly(out)


def evaluate(x, env: dict) -> int:
    """Value of a dim (int or Dim) with names bound by ``env``; ShapeError names a missing dim."""
    if not isinstance(x, Dim):
        return int(x)
    total = 0
    for mono, coef in x._terms:
        v = coef
        for atom in mono:
            if isinstance(atom, str):
                if atom not in env:
                    raise ShapeError(f"symbolic dim '{atom}' is not bound (it appears in '{x}' but in no input shape)")
                v *= int(env[atom])
            else:
                den = evaluate(atom.den, env)
                if den == 0:
                    raise ShapeError(f"division by zero evaluating '{x}'")
                v *= evaluate(atom.num, env) // den
        total += v
    return total


def parse(text):
    """Parse a dim: an int, or an expression string such as ``"(H-3)//2+1"``.

    Returns an int for constant expressions, else a :class:`Dim`. Raises ShapeError.
    """
    if isinstance(text, Dim):
        return text
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if not isinstance(text, str):
        raise ShapeError(f"a dim must be an integer or an expression string, got {text!r}")
    tokens = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN_RE.match(stripped, pos)
        if not m:
            raise ShapeError(f"bad symbolic dim '{text}': unexpected character at position {pos}")
        number, name, punct = m.groups()
        tokens.append(int(number) if number is not None else (name or punct))
        pos = m.end()
    if not tokens:
        raise ShapeError("empty symbolic dim expression")
    state = {"i": 0}

    def peek():
        return tokens[state["i"]] if state["i"] < len(tokens) else None

    def take():
        tok = peek()
        state["i"] += 1
        return tok

    def expr():
        value = term()
        while peek() in ("+", "-"):
            op = take()
            rhs = term()
            value = add(value, rhs) if op == "+" else add(value, mul(rhs, -1))
        return value

    def term():
        value = unary()
        while peek() in ("*", "//"):
            op = take()
            rhs = unary()
            value = mul(value, rhs) if op == "*" else floordiv(value, rhs)
        return value

    def unary():
        if peek() == "-":
            take()
            return mul(unary(), -1)
        return atom()

    def atom():
        tok = take()
        if isinstance(tok, int):
            return tok
        if tok == "(":
            value = expr()
            if take() != ")":
                raise ShapeError(f"bad symbolic dim '{text}': missing ')'")
            return value
        if isinstance(tok, str) and _NAME_RE.fullmatch(tok):
            return Dim._from_poly({(tok,): 1})
        raise ShapeError(f"bad symbolic dim '{text}': unexpected {tok!r}")

    value = expr()
    if state["i"] != len(tokens):
        raise ShapeError(f"bad symbolic dim '{text}': unexpected {peek()!r}")
    return value


def to_json(d):
    """A dim as it is written in a file: int, or the expression string."""
    return str(d) if isinstance(d, Dim) else int(d)


def shape_str(shape) -> str:
    """``[N,4]`` style text of a shape, for messages and printing."""
    return "[" + ",".join(str(d) for d in shape) + "]"
