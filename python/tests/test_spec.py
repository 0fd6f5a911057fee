"""The spec (spec/*.json) is self-consistent, and the Python rule tables match it exactly.

spec/ops.json is the single source of truth: every table in python/jag (IMPLS,
SHAPE_RULES, LOWERINGS, ERROR_CLASSES) must cover exactly what it lists, and the
generated references (spec/OPS.md, spec/ERRORS.md) must be up to date.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jag
from jag import spec
from jag.errors import ERROR_CLASSES
from jag.ops import IMPLS, LOWERINGS, SHAPE_RULES, check_attrs

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
OPS_DOC = json.loads((SPEC_DIR / "ops.json").read_text(encoding="utf-8"))
ERRORS_DOC = json.loads((SPEC_DIR / "errors.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((SPEC_DIR / "jag.schema.json").read_text(encoding="utf-8"))

OPS = OPS_DOC["ops"]
OP_NAMES = [o["name"] for o in OPS]
CORE = [o for o in OPS if o["kind"] == "core"]
COMPOSITE = [o for o in OPS if o["kind"] == "composite"]
DTYPES = set(OPS_DOC["dtypes"])
GROUPS = OPS_DOC["dtype_groups"]
FLOAT_DTYPES = {"float32", "float64"}

MAX_CORE_OPS = 35
ATTR_TYPES = {"int", "float", "bool", "string", "ints", "axes", "dims", "dtype"}
ATTR_KEYS = {"type", "default", "required", "enum", "length", "min", "max_exclusive", "doc"}
OP_KEYS = {"name", "kind", "family", "since", "inputs", "outputs", "types", "attrs", "shape_rule", "differentiable",
           "tolerance", "doc", "examples"}
INPUT_KEYS = {"name", "type", "optional", "variadic", "min"}
OUTPUT_KEYS = {"name", "type"}
# Ops that only move or select existing elements (besides the 'movement' family): bit-exact.
SELECTION_OPS = {"gather", "embedding", "where", "maximum", "minimum", "reduce_max", "reduce_min", "max_pool2d", "relu"}

by_name = pytest.mark.parametrize("op", OPS, ids=OP_NAMES)


def expand(types_spec) -> list:
    """A type constraint (group name, dtype name, or list of them) -> dtype names."""
    if isinstance(types_spec, str):
        return list(GROUPS[types_spec]) if types_spec in GROUPS else [types_spec]
    out = []
    for s in types_spec:
        out += expand(s)
    return out


def output_dtypes(op) -> set:
    """Every dtype an op's outputs can have."""
    out = set()
    for port in op["outputs"]:
        t = port["type"]
        if t.startswith("attr:"):
            attr = op["attrs"][t[5:]]
            out |= set(attr.get("enum", DTYPES))
        elif t in op["types"]:
            out |= set(expand(op["types"][t]))
        else:
            out.add(t)
    return out


# ------------------------------------------------------------------ the op list itself

def test_core_opset_size_and_unique_names():
    print(f"\ncore opset: {len(CORE)} ops (limit {MAX_CORE_OPS}); composites: {len(COMPOSITE)}; total {len(OPS)}")
    assert len(OP_NAMES) == len(set(OP_NAMES)), "duplicate op names in spec/ops.json"
    assert 0 < len(CORE) <= MAX_CORE_OPS, f"the core opset has {len(CORE)} ops; the limit is {MAX_CORE_OPS}"
    assert {o["kind"] for o in OPS} <= {"core", "composite"}


def test_python_spec_view_matches_json():
    assert list(spec.OPS) == OP_NAMES
    assert spec.CORE_OPS == tuple(o["name"] for o in CORE)
    assert spec.COMPOSITE_OPS == tuple(o["name"] for o in COMPOSITE)
    assert spec.OPSET == OPS_DOC["opset"] == jag.OPSET
    assert set(spec.DTYPES) == DTYPES


def test_dtypes_and_groups():
    for name, info in OPS_DOC["dtypes"].items():
        assert np.dtype(name).itemsize == info["itemsize"], name
    assert set(SCHEMA["$defs"]["dtype"]["enum"]) == DTYPES, "schema dtype enum differs from ops.json dtypes"
    for group, members in GROUPS.items():
        assert members and set(members) <= DTYPES, f"group {group} names unknown dtypes"
    assert set(GROUPS["all"]) == DTYPES


def test_tolerance_classes_are_complete():
    for name, cls in OPS_DOC["tolerance_classes"].items():
        for dt in FLOAT_DTYPES:
            assert set(cls[dt]) == {"rtol", "atol"}, f"tolerance class {name} lacks rtol/atol for {dt}"
            assert cls[dt]["rtol"] >= 0 and cls[dt]["atol"] >= 0
    assert "exact" in OPS_DOC["tolerance_classes"]
    assert all(v == 0 for dt in FLOAT_DTYPES for v in OPS_DOC["tolerance_classes"]["exact"][dt].values())


def test_every_shape_rule_is_used():
    used = {o["shape_rule"] for o in OPS}
    assert set(OPS_DOC["shape_rules"]) == used, "shape_rules in ops.json that no op uses, or ops naming undefined ones"


@by_name
def test_op_fields(op):
    assert set(op) == OP_KEYS, f"{op['name']}: fields {sorted(set(op) ^ OP_KEYS)}"
    assert isinstance(op["family"], str) and op["family"]
    assert isinstance(op["since"], int) and 1 <= op["since"] <= OPS_DOC["opset"]
    assert isinstance(op["doc"], str) and op["doc"].strip()
    assert op["tolerance"] in OPS_DOC["tolerance_classes"], f"{op['name']}: unknown tolerance class"
    assert op["shape_rule"] in OPS_DOC["shape_rules"], f"{op['name']}: shape rule not described in ops.json"
    assert op["outputs"], f"{op['name']} has no outputs"


@by_name
def test_op_ports_and_types(op):
    names = [p["name"] for p in op["inputs"]] + [p["name"] for p in op["outputs"]]
    assert len(names) == len(set(names)), f"{op['name']}: duplicate port names"
    for var, constraint in op["types"].items():
        dts = expand(constraint)
        assert dts and set(dts) <= DTYPES, f"{op['name']}: type {var} = {constraint!r} names unknown groups/dtypes"
    used_vars = set()
    seen_optional = seen_variadic = False
    for p in op["inputs"]:
        assert set(p) <= INPUT_KEYS, f"{op['name']}.{p['name']}: unknown keys {set(p) - INPUT_KEYS}"
        assert p["type"] in op["types"] or p["type"] in DTYPES, f"{op['name']}.{p['name']}: bad type {p['type']}"
        used_vars.add(p["type"])
        # optional inputs only at the end; a variadic input is the last one
        assert not seen_variadic, f"{op['name']}: an input follows a variadic input"
        if p.get("optional"):
            seen_optional = True
        else:
            assert not seen_optional, f"{op['name']}: required input {p['name']} after an optional one"
        seen_variadic = bool(p.get("variadic"))
        if p.get("variadic"):
            assert isinstance(p.get("min", 0), int) and p.get("min", 0) >= 0
    for p in op["outputs"]:
        assert set(p) <= OUTPUT_KEYS, f"{op['name']}.{p['name']}: unknown keys {set(p) - OUTPUT_KEYS}"
        t = p["type"]
        if t.startswith("attr:"):
            attr = op["attrs"].get(t[5:])
            assert attr is not None and attr["type"] == "dtype", f"{op['name']}: output type {t} needs a dtype attr"
        else:
            assert t in op["types"] or t in DTYPES, f"{op['name']}.{p['name']}: bad type {t}"
            if t in op["types"]:
                assert t in used_vars, f"{op['name']}: output type variable {t} is bound by no input"
        used_vars.add(t)
    assert set(op["types"]) <= used_vars, f"{op['name']}: type variables {set(op['types']) - used_vars} are unused"
    inputs = {p["name"] for p in op["inputs"]}
    assert set(op["differentiable"]) <= inputs, f"{op['name']}: differentiable names a non-input"


@by_name
def test_op_attrs(op):
    for name, a in op["attrs"].items():
        where = f"{op['name']}.attrs.{name}"
        assert set(a) <= ATTR_KEYS, f"{where}: unknown keys {set(a) - ATTR_KEYS}"
        assert a["type"] in ATTR_TYPES, f"{where}: type {a['type']!r} is not in the vocabulary {sorted(ATTR_TYPES)}"
        assert a.get("doc"), f"{where} has no doc"
        if a.get("required"):
            assert "default" not in a, f"{where} is required but has a default"
        else:
            assert "default" in a, f"{where} is optional but has no default"
        if "enum" in a and a.get("default") is not None:
            assert a["default"] in a["enum"], f"{where}: default not in enum"
        if a["type"] == "dtype":
            assert set(a.get("enum", DTYPES)) <= DTYPES
        if "length" in a:
            assert a["type"] in ("ints", "axes", "dims")
            if a.get("default") is not None:
                assert len(a["default"]) == a["length"], f"{where}: default has the wrong length"
    # the defaults pass the Python attr checker (required ones filled in from the first example)
    given = {k: v for k, v in (op["examples"][0].get("attrs") or {}).items() if op["attrs"][k].get("required")}
    check_attrs(spec.OPS[op["name"]], given)


@by_name
def test_tolerance_is_exact_for_integer_bool_and_movement_ops(op):
    if not (output_dtypes(op) & FLOAT_DTYPES):
        assert op["tolerance"] == "exact", f"{op['name']} has only integer/bool outputs; use 'exact'"
    if op["family"] == "movement" or op["name"] in SELECTION_OPS:
        assert op["tolerance"] == "exact", f"{op['name']} only moves or selects elements; use 'exact'"


# ------------------------------------------------------------------ examples

def _array(t):
    def conv(v):
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, str):
            assert v in ("inf", "-inf", "nan"), f"bad non-finite literal {v!r}"
            return float(v)
        return v
    assert t["dtype"] in DTYPES
    return np.array(conv(t["data"]), dtype=t["dtype"])


@by_name
def test_op_has_examples_that_the_reference_reproduces(op):
    assert op["examples"], f"{op['name']} has no example"
    od = spec.OPS[op["name"]]
    lo, hi = od.arity
    for k, ex in enumerate(op["examples"]):
        assert set(ex) <= {"inputs", "attrs", "outputs"}
        assert lo <= len(ex["inputs"]) and (hi is None or len(ex["inputs"]) <= hi), f"example {k}: arity"
        assert len(ex["outputs"]) == len(op["outputs"])
        attrs = check_attrs(od, ex.get("attrs"))
        args = [_array(t) for t in ex["inputs"]]
        with np.errstate(all="ignore"):
            got = IMPLS[op["name"]](*args, **attrs)
        got = got if isinstance(got, tuple) else (got,)
        for g, want_t in zip(got, ex["outputs"]):
            want, g = _array(want_t), np.asarray(g)
            assert g.dtype == want.dtype and g.shape == want.shape, (
                f"{op['name']} example {k}: got {g.dtype}{list(g.shape)}, expected {want.dtype}{list(want.shape)}")
            rtol, atol = spec.tolerance(op["name"], want.dtype.name)
            np.testing.assert_allclose(g, want, rtol=rtol, atol=atol, err_msg=f"{op['name']} example {k}")


# ------------------------------------------------------------------ the Python rule tables

def test_every_op_has_an_implementation():
    missing = [n for n in OP_NAMES if n not in IMPLS]
    assert not missing, f"ops without a numpy implementation (jag.ops.IMPLS): {missing}"


def test_every_shape_rule_exists():
    missing = sorted({o["shape_rule"] for o in OPS} - set(SHAPE_RULES))
    assert not missing, f"shape rules named in spec/ops.json but missing from jag.ops.SHAPE_RULES: {missing}"


def test_composites_have_lowerings_and_core_ops_do_not():
    missing = [o["name"] for o in COMPOSITE if o["name"] not in LOWERINGS]
    assert not missing, f"composite ops without a lowering (jag.ops.LOWERINGS): {missing}"
    core_lowered = [o["name"] for o in CORE if o["name"] in LOWERINGS]
    assert not core_lowered, f"core ops must not have a lowering: {core_lowered}"


def test_tables_name_no_op_the_spec_lacks():
    assert not set(IMPLS) - set(OP_NAMES), f"IMPLS has ops not in spec/ops.json: {sorted(set(IMPLS) - set(OP_NAMES))}"
    assert not set(LOWERINGS) - set(OP_NAMES), f"LOWERINGS has unknown ops: {sorted(set(LOWERINGS) - set(OP_NAMES))}"
    extra_rules = set(SHAPE_RULES) - set(OPS_DOC["shape_rules"])
    assert not extra_rules, f"SHAPE_RULES has rules ops.json does not describe: {sorted(extra_rules)}"


# ------------------------------------------------------------------ errors

def test_error_codes_match_error_classes():
    codes = [c["code"] for c in ERRORS_DOC["codes"]]
    assert len(codes) == len(set(codes)), "duplicate codes in spec/errors.json"
    assert set(codes) == set(ERROR_CLASSES), (
        f"spec/errors.json vs jag.errors.ERROR_CLASSES: only in spec {sorted(set(codes) - set(ERROR_CLASSES))}, "
        f"only in Python {sorted(set(ERROR_CLASSES) - set(codes))}")
    for c in ERRORS_DOC["codes"]:
        assert set(c) == {"code", "meaning", "template"} and c["meaning"] and c["template"]
        assert c["code"].startswith("E_")
    for field in ("{code}", "{file}", "{index}", "{name}", "{op}", "{detail}"):
        assert field in ERRORS_DOC["message_format"]


# ------------------------------------------------------------------ generated files and schema

def test_generated_files_are_up_to_date():
    proc = subprocess.run([sys.executable, str(SPEC_DIR / "gen.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, f"generated files are stale; run `python spec/gen.py`:\n{proc.stdout}{proc.stderr}"


def test_ops_md_shows_the_core_op_count_and_every_op():
    text = (SPEC_DIR / "OPS.md").read_text(encoding="utf-8")
    assert f"**{len(CORE)} core ops**" in text
    for name in OP_NAMES:
        assert f'<a id="{name}"></a>' in text and f"\n## {name}\n" in text, f"OPS.md has no section for {name}"
    errors_text = (SPEC_DIR / "ERRORS.md").read_text(encoding="utf-8")
    for c in ERRORS_DOC["codes"]:
        assert f"`{c['code']}`" in errors_text


def test_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
