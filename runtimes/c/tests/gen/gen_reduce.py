"""Generate the literal case table of runtimes/c/tests/test_reduce.c from the numpy reference."""
import math
import zlib
import numpy as np
from jag.ops import IMPLS

NAN, INF = float("nan"), float("inf")
CT = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t", "bool": "uint8_t"}
DT = {"float32": "JAG_DTYPE_FLOAT32", "float64": "JAG_DTYPE_FLOAT64", "int32": "JAG_DTYPE_INT32",
      "int64": "JAG_DTYPE_INT64", "uint8": "JAG_DTYPE_UINT8", "bool": "JAG_DTYPE_BOOL"}


def lit(v, dt):
    if dt in ("float32", "float64"):
        v = float(v)
        if math.isnan(v):
            return "NAN"
        if math.isinf(v):
            return "INFINITY" if v > 0 else "-INFINITY"
        s = str(np.float32(v)) if dt == "float32" else repr(v)
        if "e" not in s and "." not in s:
            s += ".0"
        return s + ("f" if dt == "float32" else "")
    v = int(v)
    if dt == "int64" and v == -2 ** 63:
        return "INT64_MIN"
    if dt == "int32" and v == -2 ** 31:
        return "INT32_MIN"
    if dt == "int64":
        return f"{v}LL"
    return str(v)


arrays = []
seen = {}


def emit(a):
    if a.size == 0:
        return "NULL"
    items = ", ".join(lit(v, a.dtype.name) for v in a.ravel().tolist())
    key = (CT[a.dtype.name], items)
    if key not in seen:
        seen[key] = f"d{len(arrays)}"
        lines, cur = [], "   "
        for it in items.split(", "):
            if len(cur) + len(it) + 2 > 110:
                lines.append(cur)
                cur = "   "
            cur += " " + it + ","
        lines.append(cur)
        body = "\n".join(lines)
        arrays.append(f"static const {CT[a.dtype.name]} {seen[key]}[] = {{\n{body}\n}};")
    return seen[key]


def tensor(a):
    shape = ", ".join(str(d) for d in a.shape) or "0"
    return f"{{{DT[a.dtype.name]}, {a.ndim}, {{{shape}}}, {emit(a)}}}"


cases = []


def case(what, op, ins, **attrs):
    ins = [np.asarray(a) for a in ins]
    kw = dict(attrs)
    if op.startswith("reduce_"):
        kw.setdefault("axes", None)
        kw.setdefault("keepdims", False)
    elif op in ("softmax", "log_softmax"):
        kw.setdefault("axis", -1)
    elif op == "argmax":
        kw.setdefault("axis", -1)
        kw.setdefault("keepdims", False)
    elif op == "layer_norm":
        kw.setdefault("axis", -1)
        kw.setdefault("epsilon", 1e-5)
    with np.errstate(all="ignore"):
        out = np.asarray(IMPLS[op](*ins, **kw))
    axes = kw.get("axes")
    n_axes = -1 if axes is None else len(axes)
    ax = ", ".join(str(a) for a in (axes or [])) or "0"
    cases.append(f'    {{"{what}", JAG_OP_{op.upper()}, {n_axes}, {{{ax}}}, {int(kw.get("keepdims", False))}, '
                 f'{kw.get("axis", 0)}, {kw.get("epsilon", 0.0)!r}, {len(ins)},\n'
                 f'     {{{", ".join(tensor(a) for a in ins)}}},\n     {tensor(out)}}},')


def arr(v, dt):
    return np.array(v, dtype=dt)


def grid(shape, dt, lo=-5, hi=5):
    n = int(np.prod(shape))
    rng = np.random.default_rng(zlib.crc32(repr((shape, dt, lo, hi)).encode()))
    if dt in ("float32", "float64"):
        return (np.round(rng.uniform(lo, hi, n) * 16) / 16).astype(dt).reshape(shape)
    if dt == "bool":
        return (rng.integers(0, 2, n) == 1).reshape(shape)
    if dt == "uint8":
        return rng.integers(0, 256, n).astype(dt).reshape(shape)
    return rng.integers(-50, 50, n).astype(dt).reshape(shape)


# ------------------------------------------------------------------ reduce_sum / mean / max / min
AXES = [None, [], [0], [1], [-1], [-3, -1], [1, -1], [2, 0, 1]]
for op, dts in [("reduce_sum", ["float32", "float64", "int32", "int64", "uint8"]),
                ("reduce_max", ["float32", "float64", "int32", "int64", "uint8", "bool"]),
                ("reduce_mean", ["float32", "float64"]), ("reduce_min", ["float32", "float64"])]:
    for dt in dts:
        x = grid((2, 3, 4), dt)
        for axes in AXES:
            for keep in (False, True):
                if dt not in ("float32", "int32") and keep:
                    continue
                case(f"{op} {dt} [2,3,4] axes={axes} keep={int(keep)}", op, [x], axes=axes, keepdims=keep)
        # more patterns: [K R K R], [R K R K] with >= 4 reduced rows, size-1 axes
        x4 = grid((2, 5, 3, 6), dt)
        case(f"{op} {dt} [2,5,3,6] axes=[1,3]", op, [x4], axes=[1, 3])
        case(f"{op} {dt} [2,5,3,6] axes=[0,2]", op, [x4], axes=[0, 2], keepdims=True)
        case(f"{op} {dt} [2,5,3,6] axes=[1]", op, [x4], axes=[1])
        x1 = grid((1, 7, 1, 5), dt)
        case(f"{op} {dt} [1,7,1,5] axes=[0,1]", op, [x1], axes=[0, 1])
        case(f"{op} {dt} [1,7,1,5] axes=[2]", op, [x1], axes=[2])
        # rank 0, zero-size
        case(f"{op} {dt} rank0 axes=null", op, [grid((), dt)])
        case(f"{op} {dt} rank0 axes=[]", op, [grid((), dt)], axes=[])
        z = np.zeros((0, 3), dt)
        case(f"{op} {dt} [0,3] axes=[0]", op, [z], axes=[0])
        case(f"{op} {dt} [0,3] axes=[1]", op, [z], axes=[1])
        case(f"{op} {dt} [0,3] axes=null", op, [z])
        case(f"{op} {dt} [3,0] axes=[-1] keep", op, [np.zeros((3, 0), dt)], axes=[-1], keepdims=True)
        # long rows: the blocked folds (>= 64 and tails), f64 pairwise above 512
        case(f"{op} {dt} [3,70] axes=[1]", op, [grid((3, 70), dt)], axes=[1])
        case(f"{op} {dt} [70,3] axes=[0]", op, [grid((70, 3), dt)], axes=[0])
    for dt in [d for d in dts if d.startswith("float")]:
        sp = arr([[1, NAN, 3, 4, 5], [INF, 1, -INF, 2, 0], [-0.0, 0.0, -0.0, -1, -2], [INF, INF, 1, 2, 3]], dt)
        if op == "reduce_sum":
            sp = arr([[1, NAN, 3, 4, 5], [INF, 1, 7, 2, 0], [-INF, 0.0, 1, -1, -2], [INF, INF, 1, 2, 3]], dt)
        case(f"{op} {dt} special axes=[1]", op, [sp], axes=[1], keepdims=True)
        case(f"{op} {dt} special axes=[0]", op, [sp], axes=[0])
        big = grid((2, 70), dt)
        big[0, 65] = NAN
        big[1, 69] = NAN
        case(f"{op} {dt} NaN in long rows", op, [big], axes=[-1])
        case(f"{op} {dt} NaN in long columns", op, [big.T.copy()], axes=[0])
        inf = arr([[-INF, -INF], [INF, INF]], dt)
        case(f"{op} {dt} infinities", op, [inf], axes=[1])

# integer wrap and limits
i32 = np.iinfo(np.int32)
i64 = np.iinfo(np.int64)
case("reduce_sum int32 wrap", "reduce_sum", [arr([[i32.max, 1, 2], [i32.min, -1, i32.max], [i32.max, i32.max, i32.max]], "int32")], axes=[1])
case("reduce_sum int64 wrap", "reduce_sum", [arr([[i64.max, 1, 2], [i64.min, -1, i64.max]], "int64")], axes=[1])
case("reduce_sum int64 wrap columns", "reduce_sum", [arr([[i64.max, i64.min], [1, -1], [i64.max, -5]], "int64")], axes=[0])
case("reduce_sum uint8 wrap", "reduce_sum", [arr([[255, 1, 2], [200, 100, 255]], "uint8")], axes=[1])
case("reduce_sum uint8 wrap all", "reduce_sum", [np.full((300,), 255, "uint8")])
case("reduce_max int64 above 2^53", "reduce_max", [arr([[2 ** 62 + 1, 2 ** 62], [-2 ** 62, 3]], "int64")], axes=[1])
case("reduce_max int64 limits", "reduce_max", [arr([[i64.min, i64.min], [i64.min, i64.max]], "int64")], axes=[1])
case("reduce_max int32 limits", "reduce_max", [arr([[i32.min, i32.min], [i32.min, i32.max]], "int32")], axes=[0])
case("reduce_max bool", "reduce_max", [arr([[False, False, True], [False, False, False]], "bool")], axes=[1])
case("reduce_max bool all", "reduce_max", [arr([[False, False], [False, True]], "bool")])

# ------------------------------------------------------------------ argmax
for dt in ["float32", "float64", "int32", "int64", "uint8"]:
    for shape, axis, keep in [((3, 4), -1, False), ((3, 4), 0, True), ((3, 4), 1, True), ((3, 4), -2, False),
                              ((2, 3, 4), 1, False), ((5,), 0, False), ((1,), -1, True), ((0, 3), 1, False),
                              ((3, 0), 0, True), ((2, 70), -1, False), ((70, 3), 0, False)]:
        x = grid(shape, dt, -2, 2)
        if dt.startswith("float"):
            x = np.round(x)   # few distinct values: many ties
        case(f"argmax {dt} {list(shape)} axis={axis} keep={int(keep)}", "argmax", [x], axis=axis, keepdims=keep)
for dt in ["float32", "float64"]:
    x = arr([[1, NAN, 3, NAN], [-INF, -INF, -INF, -INF], [INF, 2, INF, 1], [-0.0, 0.0, -1, 0.0]], dt)
    case(f"argmax {dt} nan first rows", "argmax", [x])
    case(f"argmax {dt} nan first columns", "argmax", [x.T.copy()], axis=0)
    big = grid((2, 130), dt)
    big[0, 70] = NAN
    big[0, 100] = NAN
    big[1, 129] = 100
    case(f"argmax {dt} long rows", "argmax", [big])
    case(f"argmax {dt} long columns", "argmax", [big.T.copy()], axis=0, keepdims=True)
case("argmax int64 limits", "argmax", [arr([[i64.min, i64.min], [i64.min, i64.max], [5, 5]], "int64")])
case("argmax uint8 255", "argmax", [arr([[0, 255, 255, 3]], "uint8")])

# ------------------------------------------------------------------ softmax / log_softmax
for op in ["softmax", "log_softmax"]:
    for dt in ["float32", "float64"]:
        for shape, axis in [((3, 4), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1), ((2, 3, 4), -2), ((5,), 0),
                            ((0, 4), -1), ((0, 4), 0), ((3, 0), -1), ((1, 1), -1), ((2, 1, 3), 1), ((2, 70), -1),
                            ((70, 3), 0)]:
            case(f"{op} {dt} {list(shape)} axis={axis}", op, [grid(shape, dt, -10, 10)], axis=axis)
        x = arr([[0.0, -INF, 1.0], [1000.0, 1000.0, -1000.0], [-INF, -INF, -INF], [1, NAN, 2], [INF, 1, 2],
                 [-100, -200, 0]], dt)
        case(f"{op} {dt} masked large nan inf rows", op, [x])
        case(f"{op} {dt} masked large nan inf columns", op, [x.T.copy()], axis=0)

# ------------------------------------------------------------------ layer_norm
for dt in ["float32", "float64"]:
    for shape, axis, w, b, eps in [((3, 4), -1, False, False, 1e-5), ((3, 4), -1, True, False, 1e-5),
                                   ((3, 4), -1, True, True, 1e-5), ((2, 3, 4), 1, True, True, 1e-5),
                                   ((2, 3, 4), -2, False, False, 1e-3), ((2, 3, 4), 0, True, True, 0.5),
                                   ((5,), 0, True, True, 1e-5), ((0, 4), -1, True, True, 1e-5),
                                   ((4, 1), -1, True, True, 1e-5), ((2, 70), -1, True, True, 1e-5),
                                   ((2, 2), -1, False, False, 0.0)]:
        x = grid(shape, dt)
        if shape == (2, 2):
            x = arr([[1, 1], [2, 4]], dt)       # constant row with eps 0: 0/0 = NaN
        norm = shape[axis % len(shape):]
        ins = [x] + ([grid(norm, dt, 0.5, 2)] if w else []) + ([grid(norm, dt, -1, 1)] if b else [])
        case(f"layer_norm {dt} {list(shape)} axis={axis} w={int(w)} b={int(b)} eps={eps}", "layer_norm", ins,
             axis=axis, epsilon=eps)
    x = arr([[1e4 + 1, 1e4 + 2, 1e4 + 3, 1e4 + 4], [NAN, 1, 2, 3]], dt)
    case(f"layer_norm {dt} offset and nan", "layer_norm", [x])

print("/* ---- generated by gen_reduce.py from the numpy reference (python/jag, numpy %s) ---- */" % np.__version__)
print("\n".join(arrays))
print()
print("static const struct rd_case CASES[] = {")
print("\n".join(cases))
print("};")
print("/* ---- end of generated part ---- */")
