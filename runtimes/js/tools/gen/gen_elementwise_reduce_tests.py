"""Generate the literal cases of runtimes/js/test/{elementwise,reduce}.test.js from the numpy reference."""
import math
import sys
import numpy as np
import jag

NAN, INF = float("nan"), float("inf")
F = ["float32", "float64"]
ALL = ["float32", "float64", "int32", "int64", "uint8", "bool"]


def jsnum(v, dtype):
    if dtype == "int64":
        return f"{int(v)}n"
    if dtype in ("int32", "uint8"):
        return str(int(v))
    if dtype == "bool":
        return "1" if v else "0"
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    return repr(v)


def jst(a):
    a = np.asarray(a)
    flat = ", ".join(jsnum(v, a.dtype.name) for v in a.reshape(-1).tolist())
    return f'["{a.dtype.name}", [{", ".join(map(str, a.shape))}], [{flat}]]'


def jsattrs(attrs):
    parts = []
    for k, v in attrs.items():
        if v is None:
            parts.append(f"{k}: null")
        elif isinstance(v, bool):
            parts.append(f"{k}: {'true' if v else 'false'}")
        elif isinstance(v, str):
            parts.append(f'{k}: "{v}"')
        elif isinstance(v, (list, tuple)):
            parts.append(f"{k}: [{', '.join(map(str, v))}]")
        else:
            parts.append(f"{k}: {jsnum(v, 'float64')}")
    return "{" + ", ".join(parts) + "}"


LINES = []


def case(op, *inputs, **attrs):
    inputs = [np.asarray(x) for x in inputs]
    y = jag.apply(op, *inputs, **attrs).numpy()
    LINES.append(f'  ["{op}", [{", ".join(jst(x) for x in inputs)}], {jsattrs(attrs)}, {jst(y)}],')


def arr(v, dt, shape=None):
    a = np.array(v, dtype=dt)
    return a.reshape(shape) if shape is not None else a


def elementwise():
    fvals = [-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.75, NAN, INF, -INF]
    for dt in F:
        for op in ["neg", "abs", "sign", "relu"]:
            case(op, arr(fvals, dt))
        case("exp", arr([-100.0, -1.5, -0.0, 0.0, 0.5, 1.0, 10.0, 88.5, 710.0, NAN, INF, -INF], dt))
        case("log", arr([-1.0, -0.0, 0.0, 1e-30, 0.5, 1.0, 2.718281828, 1e30, NAN, INF, -INF], dt))
        case("sqrt", arr([-1.0, -0.0, 0.0, 1e-30, 0.5, 2.0, 9.0, 1e30, NAN, INF, -INF], dt))
        for op in ["sin", "cos"]:
            case(op, arr([-100.0, -3.0, -0.0, 0.0, 0.5, 1.0, 1.5707963267948966, 3.14159, 1e4, NAN, INF], dt))
        case("tanh", arr([-30.0, -2.0, -0.5, -0.0, 0.0, 1e-10, 0.5, 1.0, 20.0, NAN, INF, -INF], dt))
        case("erf", arr([-7.0, -3.0, -1.1, -0.9, -0.3, -0.0, 0.0, 1e-300, 1e-10, 0.1, 0.84, 0.85, 1.0, 1.24,
                         1.26, 2.0, 2.85, 2.86, 4.0, 5.9, 6.0, 30.0, NAN, INF, -INF], dt))
        case("sigmoid", arr([-100.0, -10.0, -1.0, -0.0, 0.0, 0.5, 1.0, 10.0, 100.0, NAN, INF, -INF], dt))
        for approx in ["none", "tanh"]:
            case("gelu", arr([-10.0, -3.0, -1.0, -0.5, -0.0, 0.0, 0.3, 1.0, 2.5, 10.0, NAN, INF, -INF], dt),
                 approximate=approx)
        # rank 0 and zero-size
        case("exp", arr(0.5, dt))
        case("sqrt", arr([], dt, (2, 0)))
    for dt, v in [("int32", [-2147483648, -7, -1, 0, 1, 5, 2147483647]),
                  ("int64", [-2**63, -2**62 - 3, -(2**53) - 1, -1, 0, 1, 2**53 + 1, 2**63 - 1]),
                  ("uint8", [0, 1, 7, 128, 255])]:
        for op in ["neg", "abs", "sign"]:
            case(op, arr(v, dt))
        if dt != "uint8":
            case("relu", arr(v, dt))
    case("neg", arr(-5, "int32"))
    case("abs", arr([], "int64", (0, 3)))
    case("logical_not", arr([True, False, True], "bool"))
    case("logical_not", arr(False, "bool"))
    # cast: every pair
    src = {
        "float32": [NAN, INF, -INF, -0.0, 0.0, -1.9, -0.5, 0.7, 1.5, 2.5, 254.6, 255.4, 256.0, 300.0, -300.0, 16777217.0,
                    3e9, -3e9, 2147483520.0, -2147483648.0, 1e19, -1e19, 9.223372e18, 3.4e38],
        "float64": [NAN, INF, -INF, -0.0, 0.0, -1.9, -0.5, 0.7, 1.5, 2.5, 254.6, 255.4, 256.0, 300.0, -300.0,
                    16777217.0, 2147483647.9, 2147483648.0, -2147483648.9, -2147483649.0, 9007199254740993.0,
                    9.223372036854775e18, 9223372036854775808.0, -9223372036854775808.0, 1e300, 1e-300, 0.1],
        "int32": [-2147483648, -16777217, -300, -1, 0, 1, 255, 256, 16777217, 2147483647],
        "int64": [-2**63, -(2**53) - 1, -4294967297, -2147483649, -300, -1, 0, 1, 255, 256, 2147483648, 4294967297,
                  16777217, 2**53 + 1, 2**62 + 2**38 + 1, 16777217 * 2**38, 16777219 * 2**38, 2**63 - 1],
        "uint8": [0, 1, 127, 128, 255],
        "bool": [True, False],
    }
    for s in ALL:
        for t in ALL:
            case("cast", arr(src[s], s), dtype=t)
    case("cast", arr(2.5, "float32"), dtype="int64")
    case("cast", arr([], "int64", (0,)), dtype="float32")
    # binary arithmetic
    fa = [-3.0, -0.0, 0.0, 1.5, 2.0, NAN, INF, -INF]
    fb = [2.0, 0.0, -0.0, -1.5, 0.0, 1.0, INF, 2.0]
    for dt in F:
        a, b = arr(fa, dt), arr(fb, dt)
        for op in ["add", "subtract", "multiply", "divide", "maximum", "minimum", "equal", "not_equal", "less",
                   "less_equal", "greater", "greater_equal"]:
            case(op, a, b)
        case("power", arr([2.0, 2.0, -2.0, -2.0, 0.0, -0.0, 1.0, 1.0, -1.0, -1.0, NAN, NAN, 4.0, 10.0, 0.5], dt),
             arr([3.0, -1.0, 3.0, 0.5, -1.0, -3.0, NAN, INF, INF, -INF, 0.0, 1.0, 0.5, 40.0, 2.2], dt))
        # broadcasting: [2,3] with [3], [2,1] with [1,3], scalar with [2,2], rank 0, zero-size
        x23 = arr([[1.0, -2.0, 3.5], [4.0, 0.0, -6.25]], dt)
        case("add", x23, arr([0.1, 0.2, 0.3], dt))
        case("subtract", arr([[1.0], [2.0]], dt), arr([[0.5, 1.5, 2.5]], dt))
        case("multiply", arr(2.5, dt), x23)
        case("divide", x23, arr(4.0, dt))
        case("maximum", arr(0.0, dt), arr(-0.0, dt))
        case("minimum", arr(-0.0, dt), arr([0.0, -0.0], dt))
        case("add", arr([], dt, (0, 3)), arr([1.0, 2.0, 3.0], dt))
        case("add", arr(np.arange(24) * 0.5, dt, (2, 3, 4)), arr(np.arange(3) * -1.0, dt, (3, 1)))
        case("less", arr(np.arange(6) * 1.0, dt, (2, 1, 3)), arr([[2.0], [4.0]], dt))
    case("add", arr([3e38, 1.0000001, 1e-45], "float32"), arr([3e38, 1e-8, 1e-45], "float32"))
    case("multiply", arr([1.0000001, 3e20], "float32"), arr([1.0000001, 3e20], "float32"))
    ia = {"int32": [2147483647, -2147483648, -5, 7, 65536, 123456789],
          "int64": [2**63 - 1, -2**63, -5, 7, 2**53 + 1, 3037000500],
          "uint8": [255, 0, 5, 7, 16, 200]}
    ib = {"int32": [1, -1, 3, -7, 65536, 987654321],
          "int64": [1, -1, 3, -7, 2**53 + 1, 3037000500],
          "uint8": [1, 1, 7, 7, 16, 100]}
    for dt in ["int32", "int64", "uint8"]:
        a, b = arr(ia[dt], dt), arr(ib[dt], dt)
        for op in ["add", "subtract", "multiply", "maximum", "minimum", "equal", "not_equal", "less", "less_equal",
                   "greater", "greater_equal"]:
            case(op, a, b)
        case("add", arr(ia[dt][:3], dt, (3, 1)), arr(ib[dt][:2], dt, (1, 2)))
        case("multiply", arr(ia[dt][2], dt), arr(ib[dt], dt))
    tb, fb2 = arr([True, True, False, False], "bool"), arr([True, False, True, False], "bool")
    for op in ["logical_and", "logical_or", "maximum", "minimum", "equal", "not_equal"]:
        case(op, tb, fb2)
    case("logical_and", arr([[True], [False]], "bool"), arr([True, False, True], "bool"))
    case("logical_or", arr(False, "bool"), arr([], "bool", (0,)))
    # where
    cond = arr([[True], [False]], "bool")
    vals = {"float32": ([1.5, -0.0, NAN], -2.0), "float64": ([1.5, -0.0, NAN], -2.0),
            "int32": ([1, -2147483648, 3], 7), "int64": ([2**63 - 1, -2**63, 2**53 + 1], -(2**53) - 1),
            "uint8": ([0, 255, 3], 9), "bool": ([True, False, True], False)}
    for dt, (av, bv) in vals.items():
        case("where", cond, arr(av, dt), arr(bv, dt))
        case("where", arr([True, False, True], "bool"), arr(av, dt), arr(av[::-1], dt))
    case("where", arr(True, "bool"), arr([1.0, 2.0], "float64"), arr([[3.0], [4.0]], "float64"))
    case("where", arr([[True, False, False], [False, True, True]], "bool"), arr(np.arange(12), "int64", (2, 2, 3)),
         arr(-1, "int64"))
    case("where", arr(False, "bool"), arr(1.5, "float32"), arr(-2.5, "float32"))
    case("where", arr([], "bool", (0, 2)), arr([1, 2], "int32"), arr(3, "int32"))


def reduce():
    x234 = np.arange(24).reshape(2, 3, 4)
    for dt in ["float32", "float64", "int32", "int64", "uint8"]:
        x = arr(x234 * (1 if dt == "uint8" else 1.5 if dt in F else -3), dt)
        for axes in [None, [0], [-1], [0, 2], [1, 2], []]:
            case("reduce_sum", x, axes=axes, keepdims=False)
        case("reduce_sum", x, axes=[1], keepdims=True)
        case("reduce_sum", arr([], dt, (2, 0)), axes=[1], keepdims=False)
        case("reduce_sum", arr(7, dt), axes=None, keepdims=False)
    for dt in ["float32", "float64", "int32", "int64", "uint8", "bool"]:
        if dt == "bool":
            x = arr([[True, False, False], [False, False, False]], dt)
        elif dt in F:
            x = arr([[1.0, -0.0, 3.0], [NAN, 2.0, -INF], [-1.0, -2.0, -3.0]], dt)
        elif dt == "int64":
            x = arr([[2**53 + 1, -2**63, 3], [5, 2**53 + 2, -7], [-1, -2, -3]], dt)
        elif dt == "uint8":
            x = arr([[1, 200, 3], [0, 0, 0], [255, 2, 3]], dt)
        else:
            x = arr([[1, -2147483648, 3], [2147483647, 2, -7], [-1, -2, -3]], dt)
        for axes in [None, [0], [1], []]:
            case("reduce_max", x, axes=axes, keepdims=False)
        case("reduce_max", x, axes=[-1], keepdims=True)
        case("reduce_max", arr([], dt, (0, 3)), axes=[0], keepdims=False)
    for dt in F:
        x = arr([[1.0, -0.5, 3.0, 2.0], [NAN, 2.0, -INF, 1.0], [-1.0, -2.0, INF, -3.0]], dt)
        for axes in [None, [0], [1]]:
            case("reduce_min", x, axes=axes, keepdims=False)
            case("reduce_mean", arr(np.abs(np.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0)), dt), axes=axes,
                 keepdims=False)
        case("reduce_min", arr([], dt, (0, 2)), axes=[0], keepdims=True)
        case("reduce_mean", arr([], dt, (0, 2)), axes=[0], keepdims=False)
        case("reduce_mean", arr(x234 * 0.25, dt), axes=[0, 2], keepdims=True)
        case("reduce_mean", arr([1.0, NAN, 3.0], dt), axes=None, keepdims=False)
        case("reduce_sum", arr([-0.0, -0.0], dt), axes=None, keepdims=False)
        case("reduce_sum", arr([0.1] * 10 + [1e-8, -3.5], dt), axes=None, keepdims=False)
    case("reduce_sum", arr([2147483647, 1, 5], "int32"), axes=None, keepdims=False)
    case("reduce_sum", arr([200, 100, 1], "uint8"), axes=None, keepdims=False)
    case("reduce_sum", arr([2**63 - 1, 1, 2**53 + 1], "int64"), axes=None, keepdims=False)
    # argmax
    for dt in ["float32", "float64", "int32", "int64", "uint8"]:
        if dt in F:
            x = arr([[1.0, 3.0, 3.0, -1.0], [-INF, -INF, -INF, -INF], [2.0, NAN, 5.0, NAN]], dt)
        elif dt == "int64":
            x = arr([[2**53 + 1, 2**53 + 2, 2**53 + 2, 0], [-2**63, -2**63, -2**63, -2**63], [2**63 - 1, 0, 2**63 - 1, 1]], dt)
        elif dt == "uint8":
            x = arr([[1, 255, 255, 0], [0, 0, 0, 0], [7, 8, 9, 200]], dt)
        else:
            x = arr([[1, 3, 3, -1], [-2147483648] * 4, [2147483647, 0, 2147483647, 1]], dt)
        case("argmax", x, axis=-1, keepdims=False)
        case("argmax", x, axis=0, keepdims=False)
        case("argmax", x, axis=1, keepdims=True)
    case("argmax", arr([3.0, 1.0, 3.0], "float32"), axis=0, keepdims=False)
    case("argmax", arr([], "float32", (0, 3)), axis=1, keepdims=False)
    case("argmax", arr(np.arange(24) % 5, "int32", (2, 3, 4)), axis=1, keepdims=False)
    # softmax / log_softmax
    for dt in F:
        x = arr([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.0, 1000.0, -INF], [5.0, 5.0, 5.0, 5.0]], dt)
        for op in ["softmax", "log_softmax"]:
            case(op, x, axis=-1)
            case(op, x, axis=0)
            case(op, arr(np.linspace(-3, 3, 24), dt, (2, 3, 4)), axis=1)
            case(op, arr([-INF, -INF], dt), axis=0)
            case(op, arr([1.0, NAN, 2.0], dt), axis=0)
            case(op, arr([], dt, (0, 3)), axis=1)
    # layer_norm
    for dt in F:
        x = arr(np.linspace(-2, 3, 24) ** 2, dt, (2, 3, 4))
        w = arr(np.linspace(0.5, 2, 4), dt)
        b = arr(np.linspace(-1, 1, 4), dt)
        case("layer_norm", x, axis=-1, epsilon=1e-5)
        case("layer_norm", x, w, axis=-1, epsilon=1e-5)
        case("layer_norm", x, w, b, axis=-1, epsilon=1e-3)
        case("layer_norm", x, arr(np.linspace(0.5, 2, 12), dt, (3, 4)), arr(np.linspace(-1, 1, 12), dt, (3, 4)),
             axis=1, epsilon=1e-5)
        case("layer_norm", x, axis=0, epsilon=1e-5)
        case("layer_norm", arr([[3.0, 3.0, 3.0]], dt), axis=-1, epsilon=1e-5)
        case("layer_norm", arr([], dt, (0, 4)), axis=-1, epsilon=1e-5)


which = sys.argv[1]
{"elementwise": elementwise, "reduce": reduce}[which]()
print("\n".join(LINES))
