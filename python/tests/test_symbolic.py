"""Symbolic dims: normal form, printing round trip, evaluation against Python integer arithmetic."""
import pytest
from hypothesis import given, settings, strategies as st

from jag.errors import ShapeError
from jag.symbolic import Dim, evaluate, parse

NAMES = ["N", "S", "H"]


@st.composite
def exprs(draw, depth=0):
    """A random expression as (text, python function of env)."""
    if depth > 3 or draw(st.booleans()):
        if draw(st.booleans()):
            n = draw(st.integers(0, 9))
            return str(n), (lambda env, n=n: n)
        name = draw(st.sampled_from(NAMES))
        return name, (lambda env, name=name: env[name])
    a, fa = draw(exprs(depth=depth + 1))
    b, fb = draw(exprs(depth=depth + 1))
    op = draw(st.sampled_from(["+", "-", "*", "//"]))
    if op == "//":
        k = draw(st.integers(1, 5))
        return f"({a})//{k}", (lambda env, fa=fa, k=k: fa(env) // k)
    fn = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[op]
    return f"({a}){op}({b})", (lambda env, fa=fa, fb=fb, fn=fn: fn(fa(env), fb(env)))


@settings(max_examples=300, deadline=None)
@given(exprs(), st.fixed_dictionaries({n: st.integers(1, 50) for n in NAMES}))
def test_parse_print_evaluate_round_trip(expr, env):
    text, fn = expr
    d = parse(text)
    assert evaluate(d, env) == fn(env)
    again = parse(str(d)) if isinstance(d, Dim) else d
    assert again == d, (text, str(d), str(again))
    assert evaluate(again, env) == fn(env)


def test_normal_form_equalities():
    assert Dim("N*S") == Dim("S*N")
    assert Dim("N+N") == 2 * Dim("N")
    assert parse("N-N") == 0 and parse("(N*4)//4") == Dim("N")
    assert str(parse("(H-3)//2+1")) == "(H-3)//2+1"
    assert Dim("N") != Dim("S")


@pytest.mark.parametrize("bad", ["", "N+", "(N", "N)", "N ** 2", "3.5", "N/2", "-"])
def test_bad_expressions(bad):
    with pytest.raises(ShapeError):
        parse(bad)


def test_unbound_and_division_by_zero():
    with pytest.raises(ShapeError, match="'M'"):
        evaluate(Dim("N+M"), {"N": 1})
    with pytest.raises(ShapeError, match="zero"):
        parse("N//0")
    with pytest.raises(ShapeError):
        int(Dim("N"))  # no value outside a trace
