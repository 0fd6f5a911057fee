"""Generate the literal case tables of runtimes/c/tests/test_elementwise.c from the numpy reference."""
import math
import sys
import warnings

import numpy as np

import jag

warnings.filterwarnings("ignore")

CT = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t",
      "bool": "uint8_t"}
EN = {d: "JAG_DTYPE_" + d.upper() for d in CT}
FLOAT = ("float32", "float64")

out_arrays = []
out_cases = []
counter = [0]
seen = {}


def lit(v, dt):
    if dt in FLOAT:
        v = float(v)
        if math.isnan(v):
            return "NAN"
        if math.isinf(v):
            return "INFINITY" if v > 0 else "-INFINITY"
        if v == 0:
            return "-0.0" if math.copysign(1, v) < 0 else "0.0"
        if dt == "float32":
            s = "%.9g" % v
            return (s if ("e" in s or "." in s) else s + ".0") + "f"
        return repr(v)
    v = int(v)
    if dt == "bool":
        return str(v)
    if dt == "int64":
        if v == -2 ** 63:
            return "INT64_MIN"
        return "INT64_C(%d)" % v
    if dt == "int32":
        if v == -2 ** 31:
            return "INT32_MIN"
        return "%d" % v
    return "%d" % v


def array(a):
    a = np.asarray(a)
    dt = a.dtype.name
    if a.size == 0:
        return "NULL"
    items = [lit(v, dt) for v in a.ravel().tolist()]
    key = (dt, tuple(items))
    if key in seen:
        return seen[key]
    counter[0] += 1
    name = "d%d" % counter[0]
    seen[key] = name
    lines = []
    line = ""
    for it in items:
        if len(line) + len(it) > 100:
            lines.append(line)
            line = ""
        line += it + ", "
    lines.append(line)
    body = "\n    ".join(l.rstrip() for l in lines)
    out_arrays.append("static const %s %s[] = {\n    %s\n};" % (CT[dt], name, body))
    return name


def tens(a):
    a = np.asarray(a)
    shape = ", ".join(str(d) for d in a.shape) or "0"
    return "{%s, %d, {%s}, %s}" % (EN[a.dtype.name], a.ndim, shape, array(a))


def case(op, inputs, attrs=None, note=""):
    attrs = attrs or {}
    inputs = [np.asarray(x) for x in inputs]
    y = jag.apply(op, *inputs, **attrs).numpy()
    attr_i = EN[attrs["dtype"]] if "dtype" in attrs else "0"
    attr_s = '"%s"' % attrs["approximate"] if "approximate" in attrs else "NULL"
    ins = ", ".join(tens(x) for x in inputs)
    out_cases.append('    {"%s", JAG_OP_%s, %s, %s, %d, {%s}, %s},' % (
        note or op, op.upper(), attr_i, attr_s, len(inputs), ins, tens(y)))


F_EDGE = [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, -1.5, 3.0, 1e-30, 100.0, -100.0, 1e4, -1e4, 2.5, -0.7, 1.0]
I_EDGE = {"int32": [-2 ** 31, -2 ** 31 + 1, -7, -1, 0, 1, 7, 2 ** 31 - 1],
          "int64": [-2 ** 63, -2 ** 63 + 1, -7, -1, 0, 1, 7, 2 ** 63 - 1],
          "uint8": [0, 1, 7, 127, 128, 254, 255]}


def edge(dt):
    if dt in FLOAT:
        return np.array(F_EDGE, dt)
    if dt == "bool":
        return np.array([False, True])
    return np.array(I_EDGE[dt], dt)


def allowed(op):
    return jag.spec.OPS[op].types.get("T", ["bool"]) if jag.spec.OPS[op].types else ["bool"]


# ---------------------------------------------------------------- unary on edge values, every dtype
UNARY = ["neg", "abs", "sign", "exp", "log", "sqrt", "sin", "cos", "tanh", "erf", "relu", "sigmoid", "logical_not"]
for op in UNARY:
    for dt in allowed(op):
        case(op, [edge(dt)], note=f"{op} {dt} edges")
for dt in FLOAT:
    for ap in ("none", "tanh"):
        case("gelu", [edge(dt)], {"approximate": ap}, note=f"gelu {ap} {dt} edges")
    x = np.linspace(-4, 4, 23).astype(dt)
    for op in ("exp", "log", "sin", "cos", "tanh", "erf", "sigmoid", "sqrt"):
        case(op, [np.abs(x) if op in ("log", "sqrt") else x], note=f"{op} {dt} range")
    case("gelu", [x], {"approximate": "none"}, note=f"gelu none {dt} range")
    case("gelu", [x], {"approximate": "tanh"}, note=f"gelu tanh {dt} range")
# rank 0 and zero-size, shapes kept
case("exp", [np.array(1.0, "float32")], note="exp rank 0")
case("neg", [np.array(-3, "int64")], note="neg rank 0")
case("sqrt", [np.zeros((0, 3), "float64")], note="sqrt zero-size")
case("relu", [np.arange(-6, 6, dtype="int32").reshape(2, 3, 2)], note="relu rank 3")

# ---------------------------------------------------------------- cast: every pair
CAST_SRC = {
    "float32": np.array([math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, -0.5, -0.99, -1.7, 2.9, 127.9, 128.0, 255.5,
                         256.0, 300.0, -300.0, 16777217.0, 2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0,
                         3e9, 9.2e18, 9223372036854775808.0, -9223372036854775808.0, 1e19, -1e19, 1e38, 1e-40],
                        "float32"),
    "float64": np.array([math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, -0.5, -0.99, -1.7, 2.9, 255.5, 256.0, -300.0,
                         16777217.0, 2147483647.5, 2147483648.0, -2147483648.5, -2147483649.0, 9.2e18,
                         9223372036854774784.0, 9223372036854775808.0, -9223372036854775808.0, -9.3e18, 1e300,
                         3.4028235677973366e38, 3.4028234663852886e38, 1e-46, 1.0000000596046448, 1e-310], "float64"),
    "int32": np.array([-2 ** 31, -16777217, -129, -1, 0, 1, 127, 128, 255, 256, 16777217, 2 ** 31 - 1], "int32"),
    "int64": np.array([-2 ** 63, -2 ** 32 - 1, -2 ** 31 - 1, -2 ** 31, -256, -1, 0, 1, 255, 256, 2 ** 31, 2 ** 32 + 5,
                       2 ** 53 + 2 ** 29 + 1, 2 ** 53 + 1, 2 ** 60 + 1, 2 ** 63 - 1], "int64"),
    "uint8": np.array([0, 1, 127, 128, 200, 255], "uint8"),
    "bool": np.array([False, True, True, False]),
}
for src, x in CAST_SRC.items():
    for dst in CT:
        case("cast", [x], {"dtype": dst}, note=f"cast {src} -> {dst}")
# int64 -> float32 over a long vector (SIMD path): correctly rounded, no double rounding
big = np.array([2 ** 53 + 2 ** 29 + 1 + k * (2 ** 31 + 3) for k in range(37)] +
               [-(2 ** 62) - 2 ** 38 - 1 - k for k in range(11)], "int64")
case("cast", [big], {"dtype": "float32"}, note="cast int64 -> float32 long")
case("cast", [big], {"dtype": "float64"}, note="cast int64 -> float64 long")
case("cast", [np.array(-7.5, "float64")], {"dtype": "uint8"}, note="cast rank 0")
case("cast", [np.zeros((2, 0), "int32")], {"dtype": "bool"}, note="cast zero-size")

# ---------------------------------------------------------------- binary on edge pairs, every dtype
FA = [1.0, math.nan, 2.0, -0.0, 0.0, math.inf, -math.inf, 3.0, 5.0, -2.0, 0.0, 1e38, 0.5, -8.0, 0.0, -1.0, 2.0,
      math.inf, 1.0, 0.0, 7.0]
FB = [2.0, 1.0, math.nan, 0.0, -0.0, math.inf, 1.0, 3.0, -5.0, 0.5, 0.0, 1e38, -3.0, 1 / 3, -1.0, 0.0, -0.0,
      -math.inf, math.nan, -2.0, 7.0]
IA = {"int32": [2 ** 31 - 1, -2 ** 31, 2 ** 31 - 1, -2 ** 31, 7, -7, 0, 3, -1, 65536, 5],
      "int64": [2 ** 63 - 1, -2 ** 63, 2 ** 63 - 1, -2 ** 63, 7, -7, 0, 3, -1, 2 ** 32, 5],
      "uint8": [255, 0, 200, 7, 3, 0, 16, 255]}
IB = {"int32": [1, -1, 2 ** 31 - 1, -2 ** 31, -7, 2, 0, 3, 1, 65536, 9],
      "int64": [1, -1, 2 ** 63 - 1, -2 ** 63, -7, 2, 0, 3, 1, 2 ** 32, 9],
      "uint8": [1, 1, 100, 7, 250, 0, 16, 255]}


def pair(dt):
    if dt in FLOAT:
        return np.array(FA, dt), np.array(FB, dt)
    if dt == "bool":
        return np.array([False, False, True, True]), np.array([False, True, False, True])
    return np.array(IA[dt], dt), np.array(IB[dt], dt)


BINARY = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal", "less", "greater",
          "greater_equal", "less_equal", "not_equal", "logical_and", "logical_or"]
for op in BINARY:
    for dt in allowed(op):
        a, b = pair(dt)
        case(op, [a, b], note=f"{op} {dt} edges")
        if dt in FLOAT and op in ("maximum", "minimum"):
            case(op, [b, a], note=f"{op} {dt} edges swapped")

# where on every dtype
for dt in CT:
    a, b = pair(dt)
    c = (np.arange(a.size) % 3 == 0)
    case("where", [c, a, b], note=f"where {dt}")

# ---------------------------------------------------------------- broadcasting
rng = np.random.default_rng(7)


def r(shape, dt, lo=-5, hi=5):
    if dt in FLOAT:
        return rng.uniform(lo, hi, shape).round(2).astype(dt)
    if dt == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(lo if dt != "uint8" else 0, hi if dt != "uint8" else 255, shape).astype(dt)


case("add", [r((2, 1, 3), "float32"), r((4, 1), "float32")], note="add [2,1,3] + [4,1]")
case("subtract", [r((4, 1), "int64"), r((2, 1, 3), "int64")], note="subtract [4,1] - [2,1,3]")
case("multiply", [r((3, 1), "int32"), r((1, 4), "int32")], note="multiply [3,1] * [1,4]")
case("divide", [np.array(3.0, "float64"), r((2, 3), "float64")], note="divide scalar / [2,3]")
case("power", [r((2, 3), "float32", 0.1, 3), np.array(2.5, "float32")], note="power [2,3] ** scalar")
case("maximum", [r((2, 3), "uint8"), r((3,), "uint8")], note="maximum [2,3], [3]")
case("less", [r((2, 3, 4, 5), "float64"), r((3, 1, 5), "float64")], note="less [2,3,4,5] < [3,1,5]")
case("greater_equal", [r((5, 1, 1), "int32"), r((1, 2, 3), "int32")], note="greater_equal [5,1,1] >= [1,2,3]")
case("equal", [r((2, 1), "bool"), r((1, 3), "bool")], note="equal bool [2,1] == [1,3]")
case("logical_and", [r((2, 3), "bool"), np.array(True)], note="logical_and [2,3] & scalar")
case("logical_or", [r((1, 3), "bool"), r((2, 1), "bool")], note="logical_or [1,3] | [2,1]")
case("add", [np.array(1.5, "float32"), np.array(2.25, "float32")], note="add rank 0")
case("add", [np.zeros((0, 3), "float32"), r((3,), "float32")], note="add [0,3] + [3]")
case("multiply", [np.zeros((2, 0), "int64"), np.ones((1, 1), "int64")], note="multiply [2,0] * [1,1]")
case("subtract", [r((1, 1, 6), "float32"), r((1, 6), "float32")], note="subtract size-1 dims")
case("add", [r((2, 3, 4), "int32"), r((2, 1, 4), "int32")], note="add middle broadcast [2,3,4] + [2,1,4]")
case("add", [r((3, 4, 2), "float64"), r((4, 1), "float64")], note="add inner broadcast [3,4,2] + [4,1]")
case("where", [r((2, 1, 3), "bool"), r((4, 1), "float32"), np.array(-1.0, "float32")], note="where [2,1,3], [4,1], []")
case("where", [r((2, 1, 4, 1), "bool"), r((3, 1, 5), "int64"), r((2, 3, 1, 1), "int64")],
     note="where [2,1,4,1], [3,1,5], [2,3,1,1]")
case("where", [np.array(True), r((2, 3), "uint8"), r((3,), "uint8")], note="where scalar true")
case("where", [np.array(False), r((2, 3), "int32"), r((3,), "int32")], note="where scalar false")
case("where", [r((2, 3), "bool"), np.array(1.5, "float64"), r((2, 3), "float64")], note="where a scalar")
case("where", [r((0, 3), "bool"), r((3,), "float32"), r((1,), "float32")], note="where zero-size")
case("where", [np.array(True), np.array(4, "int32"), np.array(5, "int32")], note="where rank 0")

print("/* ---- generated by gen_ew.py (numpy " + np.__version__ + ") ---- */")
print("\n".join(out_arrays))
print()
print("static const struct ew_case CASES[] = {")
print("\n".join(out_cases))
print("};")
print("/* ---- end of generated tables ---- */")
