"""Every kind of bad input gets its own typed error with a clear message.

Each test builds a valid model with the public API, saves it, corrupts the JSON text, the
parsed document or the sidecar, and checks that loading (or running) raises the error
class of spec/errors.json with the right code, a message in the shared format
(``[E_CODE] file: node i (op): detail``) and the context that locates the problem —
never a bare KeyError / IndexError / TypeError / struct error, never a wrong answer.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import jag
from jag import errors as E

SPEC = Path(__file__).resolve().parents[2] / "spec"

# Known bugs outside the files this suite's fixes may touch (strict: they fail loudly once fixed).
# ---------------------------------------------------------------- helpers

def expect(cls, fn, *args, file=None, contains=(), **kwargs):
    """Call fn; it must raise exactly ``cls`` with its code, the shared prefix, the file and ``contains``."""
    with pytest.raises(E.JagError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    assert err.code == cls.code
    text = str(err)
    assert text.startswith(f"[{cls.code}] "), text
    if file is not None:
        assert str(file) in text, text
        assert err.file == str(file)
    for part in ([contains] if isinstance(contains, str) else contains):
        assert part in text, f"{part!r} not in {text!r}"
    assert "[E_" not in text[1:].split("\n")[0], f"nested code in {text!r}"
    return err


def linear_graph(**kw):
    """x[N,3] @ w[3,4] + 1.0: nodes 0 matmul(x, w) -> t0 and 1 add(t0, c0) -> t1, c0 a float32 scalar."""
    return jag.trace(lambda x, w: jag.matmul(x, w) + np.float32(1.0), np.ones((2, 3), np.float32), np.ones((3, 4), np.float32),
                     symbolic={"x": ("N", None)}, **kw)


W_BIG = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 100


def sidecar_graph():
    """x[2,64] @ W (16 KiB, so saved in model.bin)."""
    return jag.trace(lambda x: jag.matmul(x, W_BIG), np.ones((2, 64), np.float32))


def save(graph, folder: Path, name="model.json", **kw) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    graph.save(path, **kw)
    return path


def read(path) -> dict:
    return json.loads(Path(path).read_text())


def write(path, doc) -> Path:
    Path(path).write_text(json.dumps(doc, indent=1))
    return path


@pytest.fixture
def model(tmp_path):
    """Path of a saved linear_graph (all tensors inline)."""
    return save(linear_graph(), tmp_path)


@pytest.fixture
def sidecar_model(tmp_path):
    path = save(sidecar_graph(), tmp_path / "side")
    assert (path.parent / "model.bin").is_file()
    return path


def edit(path, fn) -> Path:
    doc = read(path)
    fn(doc)
    return write(path, doc)


def test_linear_model_layout(model):
    """The other tests edit this layout by index."""
    doc = read(model)
    assert [(n["op"], n["inputs"], n["outputs"]) for n in doc["nodes"]] == [
        ("matmul", ["x", "w"], ["t0"]), ("add", ["t0", "c0"], ["t1"])]
    assert [(t["name"], t["dtype"], t["shape"]) for t in doc["tensors"]] == [("c0", "float32", [])]
    assert doc["outputs"][0]["name"] == "t1"


def test_error_classes_cover_spec_codes():
    codes = {c["code"] for c in json.loads((SPEC / "errors.json").read_text())["codes"]}
    assert set(E.ERROR_CLASSES) == codes
    for code, cls in E.ERROR_CLASSES.items():
        assert cls.code == code and issubclass(cls, E.JagError)
        assert getattr(jag, cls.__name__) is cls


def test_builtin_bases():
    assert issubclass(E.JSONFormatError, ValueError)
    assert issubclass(E.SchemaError, ValueError)
    assert issubclass(E.ArityError, TypeError)
    assert issubclass(E.DTypeError, TypeError)
    assert issubclass(E.FileError, OSError)
    assert issubclass(E.IndexOutOfRangeError, IndexError)
    assert issubclass(E.InputError, ValueError)


def test_valid_models_load_and_run(model, sidecar_model):
    g = jag.load(model)
    np.testing.assert_allclose(g(np.ones((5, 3), np.float32), np.ones((3, 4), np.float32)), np.full((5, 4), 4.0))
    g2 = jag.load(sidecar_model)
    x = np.ones((2, 64), np.float32)
    np.testing.assert_allclose(g2(x), x @ W_BIG, rtol=1e-6)


# ---------------------------------------------------------------- 1. E_JSON

def test_json_missing_comma(model):
    text = model.read_text()
    assert '"format": "jag",' in text
    model.write_text(text.replace('"format": "jag",', '"format": "jag"', 1))
    err = expect(E.JSONFormatError, jag.load, model, file=model, contains=["line 3, column", "delimiter"])
    assert isinstance(err, ValueError)
    assert re.search(r"line \d+, column \d+", str(err))


def test_json_truncated(model):
    text = model.read_text()
    model.write_text(text[:len(text) // 2])
    err = expect(E.JSONFormatError, jag.load, model, file=model, contains="truncated")
    assert re.search(r"line \d+, column \d+", str(err))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nonfinite_literals(model, literal):
    text = model.read_text()
    model.write_text(text.replace('"metadata": {', f'"metadata": {{"x": {literal}, ', 1))
    err = expect(E.JSONFormatError, jag.load, model, file=model, contains=[literal, "not valid JSON"])
    assert re.search(r"line \d+, column \d+", str(err))


def test_json_nonfinite_literal_position_skips_strings(model):
    text = model.read_text().replace('"name": "<lambda>"', '"name": "NaN \\" NaN"', 1)
    lines = text.replace('"metadata": {', '"metadata": {"x": NaN, ', 1).split("\n")
    row = next(i for i, line in enumerate(lines) if '"x": NaN' in line)
    model.write_text("\n".join(lines))
    expect(E.JSONFormatError, jag.load, model, file=model,
           contains=f"line {row + 1}, column {lines[row].index('NaN') + 1}: 'NaN' is not valid JSON")


@pytest.mark.parametrize("escape,ok", [("a\\u0000b", False), ("\\ud800", False), ("\\udc00x", False),
                                       ("\\ud83d\\ude00", True), ("\\\\u0000", True)])
def test_json_nul_and_unpaired_surrogates(model, escape, ok):
    """spec §2: strings hold no U+0000 and no unpaired surrogate (C and JS strings could not)."""
    text = model.read_text().replace('"opset": 1,', f'"opset": 1, "doc": "{escape}",', 1)
    model.write_text(text)
    if ok:
        jag.load(model)
    else:
        expect(E.JSONFormatError, jag.load, model, file=model, contains="line ")


def test_json_duplicate_keys(model):
    text = model.read_text()
    model.write_text(text.replace('"opset": 1,', '"opset": 1, "opset": 1,', 1))
    expect(E.JSONFormatError, jag.load, model, file=model, contains="duplicate key 'opset'")


def test_json_duplicate_keys_nested(model):
    text = model.read_text()
    model.write_text(text.replace('{"op": "matmul",', '{"op": "matmul", "op": "add",', 1))
    expect(E.JSONFormatError, jag.load, model, file=model, contains="duplicate key 'op'")


def test_json_not_utf8(model):
    data = model.read_bytes()
    model.write_bytes(data.replace(b'"name": "<lambda>"', b'"name": "\xff\xfe"', 1))
    expect(E.JSONFormatError, jag.load, model, file=model, contains=["line 5, column 12", "not UTF-8", "0xff"])


def test_json_empty_file(model):
    model.write_bytes(b"")
    expect(E.JSONFormatError, jag.load, model, file=model, contains="empty")


def test_json_whitespace_only(model):
    model.write_text("  \n\n")
    expect(E.JSONFormatError, jag.load, model, file=model, contains="empty")


def test_json_deeply_nested(model):
    model.write_text("[" * 100_000 + "]" * 100_000)
    expect(E.JSONFormatError, jag.load, model, file=model, contains="nest")


def test_json_trailing_garbage(model):
    model.write_text(model.read_text() + "}")
    err = expect(E.JSONFormatError, jag.load, model, file=model, contains="Extra data")
    assert re.search(r"line \d+, column \d+", str(err))


def test_loads_json_error_without_file():
    err = expect(E.JSONFormatError, jag.loads, '{"format": "jag"')
    assert err.file is None
    assert re.search(r"line 1, column \d+", str(err))


# ---------------------------------------------------------------- 2. E_SCHEMA

@pytest.mark.parametrize("corrupt, pointer", [
    (lambda d: d["nodes"][0].pop("op"), "/nodes/0"),
    (lambda d: d["inputs"][0].update(dtype="float16"), "/inputs/0/dtype"),
    (lambda d: d["inputs"][1].update(shape=[3, -4]), "/inputs/1/shape/1"),
    (lambda d: d["tensors"][0].update(shape=[-1]), "/tensors/0/shape/0"),
    (lambda d: d.update(extra=1), "/"),
    (lambda d: d.pop("nodes"), "/"),
    (lambda d: d["nodes"][1].update(inputs="c0"), "/nodes/1/inputs"),
    (lambda d: d["nodes"][1].update(outputs=[]), "/nodes/1/outputs"),
    (lambda d: d["outputs"][0].update(name="1bad name"), "/outputs/0/name"),
    (lambda d: d.update(opset="1"), "/opset"),
    (lambda d: d.update(outputs=[]), "/outputs"),
    (lambda d: d["tensors"][0].update(file="model.bin"), "/tensors/0"),
    (lambda d: d["nodes"][1].update(attrs={"x": {"a": 1}}), "/nodes/1/attrs/x"),
    (lambda d: d["nodes"][1].update(attrs={"x": [1, True]}), "/nodes/1/attrs/x"),
    (lambda d: d["nodes"][1].update(attrs={"X": 1}), "/nodes/1/attrs"),
    (lambda d: d.update(dims={"N": {"max": -1}}), "/dims/N/max"),
    (lambda d: d.update(files=[{"path": "m.bin", "nbytes": 1, "sha256": "XYZ"}]), "/files/0/sha256"),
])
def test_schema_violations(model, corrupt, pointer):
    edit(model, corrupt)
    err = expect(E.SchemaError, jag.load, model, file=model, contains=f"at {pointer}")
    assert isinstance(err, ValueError)
    assert err.field == pointer


@pytest.mark.parametrize("fmt", ["onnx", None, 1])
def test_schema_format_not_jag(model, fmt):
    edit(model, lambda d: d.update(format=fmt) if fmt is not None else d.pop("format"))
    expect(E.SchemaError, jag.load, model, file=model, contains=["'format'", "not a JAG model"])


@pytest.mark.parametrize("text", ["[]", "42", '"jag"', "null"])
def test_schema_top_level_not_object(model, text):
    model.write_text(text)
    expect(E.SchemaError, jag.load, model, file=model, contains="JSON object")


@pytest.mark.parametrize("version", [1, "1", "1.0.0", "v1.0", None])
def test_schema_bad_version_string(model, version):
    edit(model, lambda d: d.update(version=version))
    expect(E.SchemaError, jag.load, model, file=model, contains="'version'")


def test_schema_reports_all_problems(model):
    def corrupt(d):
        d["nodes"][0].pop("op")
        d["inputs"][0]["dtype"] = "float16"
        d["extra"] = True
    edit(model, corrupt)
    err = expect(E.SchemaError, jag.load, model, file=model)
    assert len(err.errors) == 3, [str(e) for e in err.errors]
    assert all(isinstance(e, E.SchemaError) for e in err.errors)
    text = str(err)
    for part in ("/nodes/0", "/inputs/0/dtype", "extra", "2 more problem"):
        assert part in text, text


# ---------------------------------------------------------------- 3. E_VERSION

@pytest.mark.parametrize("version, advice", [("2.0", "upgrade jag"), ("1.7", "upgrade jag"), ("0.9", "older jag")])
def test_version_unsupported(model, version, advice):
    edit(model, lambda d: d.update(version=version))
    err = expect(E.VersionError, jag.load, model, file=model,
                 contains=[f"version {version}", jag.FORMAT_VERSION, advice])
    assert err.field == "/version"


def test_version_newer_opset(model):
    edit(model, lambda d: d.update(opset=jag.OPSET + 5))
    expect(E.VersionError, jag.load, model, file=model,
           contains=[f"opset {jag.OPSET + 5}", f"opset {jag.OPSET}", "upgrade jag"])


def test_version_checked_before_schema(model):
    """A future file may use fields this reader's schema does not know: report the version."""
    edit(model, lambda d: d.update(version="2.0", new_field=1))
    expect(E.VersionError, jag.load, model, file=model)


# ---------------------------------------------------------------- 4. E_UNKNOWN_OP, E_ARITY, E_ATTR

def test_unknown_op(model):
    edit(model, lambda d: d["nodes"][0].update(op="matmul2"))
    err = expect(E.UnknownOpError, jag.load, model, file=model, contains=["node 0 (matmul2)", "unknown op 'matmul2'"])
    assert err.node == 0 and err.op == "matmul2"
    assert len(err.errors) == 1  # downstream nodes are not blamed


@pytest.mark.parametrize("corrupt, contains", [
    (lambda n: n.update(inputs=["t0", "c0", "c0"]), "expected 2 inputs (a, b), got 3"),
    (lambda n: n.update(inputs=["t0"]), "expected 2 inputs (a, b), got 1"),
    (lambda n: n.update(outputs=["t1", "t2"]), "expected 1 outputs, got 2"),
])
def test_arity(model, corrupt, contains):
    edit(model, lambda d: corrupt(d["nodes"][1]))
    err = expect(E.ArityError, jag.load, model, file=model, contains=["node 1 (add)", contains])
    assert isinstance(err, TypeError)
    assert err.node == 1 and err.op == "add"


def test_arity_zero_inputs(model):
    edit(model, lambda d: d["nodes"][0].update(inputs=[]))
    expect(E.ArityError, jag.load, model, file=model, contains=["node 0 (matmul)", "got 0"])


def op_model(tmp_path, fn, *args, **kw):
    return save(jag.trace(fn, *args, **kw), tmp_path)


@pytest.mark.parametrize("attrs, contains", [
    ({"dtype": "float32", "foo": 1}, "unknown attr 'foo'"),
    ({"dtype": 5}, "attr 'dtype'"),
    ({"dtype": [1, 2]}, "attr 'dtype'"),
    ({"dtype": True}, "attr 'dtype'"),
    ({}, "attr 'dtype' is required"),
    ({"dtype": "float16"}, "'float16' is not a dtype"),
])
def test_attr_cast(tmp_path, attrs, contains):
    path = op_model(tmp_path, lambda x: jag.cast(x, dtype="float32"), np.ones(3, np.int32))
    edit(path, lambda d: (d["nodes"][0].update(attrs=attrs), d["outputs"][0].update(dtype="int32")))
    err = expect(E.AttrError, jag.load, path, file=path, contains=["node 0 (cast)", contains])
    assert err.node == 0 and err.field.startswith("attrs.")


def test_attr_on_op_without_attrs(model):
    edit(model, lambda d: d["nodes"][1].update(attrs={"axis": 0}))
    expect(E.AttrError, jag.load, model, file=model, contains=["node 1 (add)", "unknown attr 'axis' (known: none)"])


@pytest.mark.parametrize("fn, args, node, attrs, contains", [
    (lambda x: jag.transpose(x, (1, 0)), [np.ones((2, 3), np.float32)], 0, {"perm": [0, 0]}, "not a permutation"),
    (lambda x: jag.transpose(x, (1, 0)), [np.ones((2, 3), np.float32)], 0, {"perm": [0, 2]}, "not a permutation"),
    (lambda x: jag.transpose(x, (1, 0)), [np.ones((2, 3), np.float32)], 0, {"perm": [0]}, "not a permutation"),
    (lambda x: jag.transpose(x, (1, 0)), [np.ones((2, 3), np.float32)], 0, {"perm": [1.5, 0]}, "expected an integer"),
    (lambda x: jag.transpose(x, (1, 0)), [np.ones((2, 3), np.float32)], 0, {"perm": "01"}, "expected a list"),
    (lambda x: jag.sum(x, axis=1), [np.ones((2, 3), np.float32)], 0, {"axes": [2]}, "out of range for rank 2"),
    (lambda x: jag.sum(x, axis=1), [np.ones((2, 3), np.float32)], 0, {"axes": [1, -1]}, "appears twice"),
    (lambda x: jag.sum(x, axis=1), [np.ones((2, 3), np.float32)], 0, {"axes": [1], "keepdims": 1},
     "expected true or false"),
    (lambda x: jag.softmax(x, axis=1), [np.ones((2, 3), np.float32)], 0, {"axis": -3}, "out of range for rank 2"),
    (lambda x: jag.softmax(x, axis=1), [np.ones((2, 3), np.float32)], 0, {"axis": 1.0}, "expected an integer"),
    (lambda x: jag.gelu(x), [np.ones((2, 3), np.float32)], 0, {"approximate": "fast"}, "is not one of"),
    (lambda x: jag.dropout(x, np.int64(1), p=0.1), [np.ones((2, 3), np.float32)], 0, {"p": 1.0}, "must be below 1"),
    (lambda x: jag.dropout(x, np.int64(1), p=0.1), [np.ones((2, 3), np.float32)], 0, {"p": -0.5}, "below the minimum"),
    (lambda x: jag.reshape(x, (3, 2)), [np.ones((2, 3), np.float32)], 0, {"shape": [-1, -1]}, "more than one -1"),
    (lambda x: jag.reshape(x, (3, 2)), [np.ones((2, 3), np.float32)], 0, {"shape": [3, -2]}, "negative dim"),
    (lambda x: jag.reshape(x, (3, 2)), [np.ones((2, 3), np.float32)], 0, {"shape": [3, 2.5]}, "attr 'shape'"),
    (lambda x: jag.reshape(x, (3, 2)), [np.ones((2, 3), np.float32)], 0, {"shape": [3, "M"]}, "attr 'shape'"),
    (lambda x: jag.reshape(x, (3, 2)), [np.ones((2, 3), np.float32)], 0, {"shape": [3, "2 +"]}, "attr 'shape'"),
    (lambda x: jag.reshape(x, (3, 2)), [np.ones((2, 3), np.float32)], 0, {"shape": 6}, "attr 'shape'"),
    (lambda x: jag.take(x, np.array([0, 1])), [np.ones((2, 3), np.float32)], 0, {"axis": 2}, "out of range"),
])
def test_attr_errors(tmp_path, fn, args, node, attrs, contains):
    path = op_model(tmp_path, fn, *args)
    op = read(path)["nodes"][node]["op"]
    edit(path, lambda d: d["nodes"][node].update(attrs=attrs))
    err = expect(E.AttrError, jag.load, path, file=path, contains=[f"node {node} ({op})", contains])
    assert err.field.startswith("attrs."), err.field


# ---------------------------------------------------------------- 5. E_GRAPH

def test_graph_used_before_definition(model):
    edit(model, lambda d: d.update(nodes=[d["nodes"][1], d["nodes"][0]]))
    err = expect(E.GraphError, jag.load, model, file=model,
                 contains=["node 0 (add)", "input 0 't0' is used before node 1 defines it", "topological order"])
    assert "cycle" not in str(err)
    assert err.field == "inputs[0]"


def test_graph_defined_twice(model):
    edit(model, lambda d: (d["nodes"][1].update(outputs=["t0"]), d["outputs"][0].update(name="t0")))
    err = expect(E.GraphError, jag.load, model, file=model, contains=["node 1 (add)", "'t0'", "defined twice", "node 0"])
    assert err.node == 1 and err.field == "outputs[0]"


def test_graph_tensor_shadows_input(model):
    edit(model, lambda d: d["tensors"][0].update(name="w"))
    expect(E.GraphError, jag.load, model, file=model, contains=["'w'", "defined twice"])


def test_graph_output_shadows_input(model):
    edit(model, lambda d: d["nodes"][0].update(outputs=["x"]))
    expect(E.GraphError, jag.load, model, file=model, contains=["'x'", "defined twice", "graph input 0"])


def test_graph_cycle(model):
    # node 0 (A): t0 = matmul(t1, w) uses node 1's output; node 1 (B): t1 = add(t0, c0) uses node 0's
    edit(model, lambda d: d["nodes"][0].update(inputs=["t1", "w"]))
    err = expect(E.GraphError, jag.load, model, file=model,
                 contains=["node 0 (matmul)", "'t1'", "cycle", "node 0 -> node 1 -> node 0"])
    assert "topological order" not in str(err)


def test_graph_two_node_cycle(tmp_path):
    path = op_model(tmp_path, lambda x: jag.neg(jag.neg(x)), np.ones(3, np.float32))
    def corrupt(d):
        d["nodes"][0]["inputs"] = ["t1"]   # node 0 uses node 1's output, node 1 uses node 0's
    edit(path, corrupt)
    expect(E.GraphError, jag.load, path, file=path, contains=["cycle", "node 0 -> node 1 -> node 0"])


def test_graph_self_loop(model):
    edit(model, lambda d: d["nodes"][1].update(inputs=["t0", "t1"]))
    expect(E.GraphError, jag.load, model, file=model, contains=["cycle", "node 1 (add)", "same node"])


def test_graph_input_never_defined(model):
    edit(model, lambda d: d["nodes"][1].update(inputs=["t0", "nope"]))
    expect(E.GraphError, jag.load, model, file=model, contains=["'nope'", "never defined", "node 1 (add)"])


def test_graph_output_never_defined(model):
    edit(model, lambda d: d["outputs"][0].update(name="ghost"))
    expect(E.GraphError, jag.load, model, file=model, contains=["graph output 'ghost'", "never defined"])


# ---------------------------------------------------------------- 6. sidecars: E_FILE, E_TENSOR_DATA, E_PATH

def test_sidecar_missing(sidecar_model):
    (sidecar_model.parent / "model.bin").unlink()
    err = expect(E.FileError, jag.load, sidecar_model, file=sidecar_model, contains=["'model.bin'", "missing"])
    assert isinstance(err, OSError)


def test_sidecar_truncated(sidecar_model):
    bin_path = sidecar_model.parent / "model.bin"
    data = bin_path.read_bytes()
    bin_path.write_bytes(data[:len(data) // 2])
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model,
           contains=["'model.bin'", f"{len(data) // 2} bytes", f"{len(data)}", "truncated"])


def test_sidecar_hash_mismatch(sidecar_model):
    bin_path = sidecar_model.parent / "model.bin"
    data = bytearray(bin_path.read_bytes())
    data[100] ^= 0xFF
    bin_path.write_bytes(bytes(data))
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model, contains=["'model.bin'", "SHA-256"])


def test_sidecar_tensor_beyond_file(sidecar_model):
    edit(sidecar_model, lambda d: d["tensors"][0].update(offset=64))
    err = expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model,
                 contains=["tensor 'c0'", "64..16448", "16384 bytes"])
    assert err.field == "/tensors/0"


def test_sidecar_tensor_nbytes_wrong(sidecar_model):
    edit(sidecar_model, lambda d: d["tensors"][0].update(nbytes=128))
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model,
           contains=["tensor 'c0'", "128 bytes", "needs 16384"])


def test_sidecar_tensor_offset_unaligned(sidecar_model):
    edit(sidecar_model, lambda d: d["tensors"][0].update(offset=4, nbytes=128))
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model, contains=["offset 4", "multiple of 64"])


def test_sidecar_huge_offset_string(sidecar_model):
    edit(sidecar_model, lambda d: d["tensors"][0].update(offset="9999999999999999936"))
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model, contains="tensor 'c0'")


def test_sidecar_not_listed_in_files(sidecar_model):
    edit(sidecar_model, lambda d: d.pop("files"))
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model, contains=["'model.bin'", "'files'"])


def test_sidecar_size_field_wrong(sidecar_model):
    edit(sidecar_model, lambda d: d["files"][0].update(nbytes=100))
    expect(E.TensorDataError, jag.load, sidecar_model, file=sidecar_model, contains="'model.bin'")


def test_sidecar_failure_reported_once(tmp_path):
    """Two tensors in one corrupt sidecar: one error for the file, not one per tensor."""
    g = jag.trace(lambda x: jag.matmul(x, W_BIG) + jag.matmul(x, W_BIG * 2), np.ones((2, 64), np.float32))
    path = save(g, tmp_path)
    assert [t.get("file") for t in read(path)["tensors"]] == ["model.bin", "model.bin"]
    data = bytearray((tmp_path / "model.bin").read_bytes())
    data[-1] ^= 1
    (tmp_path / "model.bin").write_bytes(bytes(data))
    err = expect(E.TensorDataError, jag.load, path, file=path, contains="SHA-256")
    assert len(err.errors) == 1, [str(e) for e in err.errors]


def test_sidecar_replaced_by_folder(sidecar_model):
    bin_path = sidecar_model.parent / "model.bin"
    bin_path.unlink()
    bin_path.mkdir()
    expect(E.FileError, jag.load, sidecar_model, file=sidecar_model, contains="'model.bin'")


@pytest.mark.parametrize("name", ["../x.bin", "/etc/passwd", "sub/x.bin", "sub\\x.bin", "..", ".hidden.bin",
                                  "C:x.bin", "model.bin/", "x\n.bin"])
def test_sidecar_bad_path(sidecar_model, name):
    def corrupt(d):
        d["files"][0]["path"] = name
        d["tensors"][0]["file"] = name
    edit(sidecar_model, corrupt)
    shown = name.replace("\n", "\\n")   # (a NUL in a name is already E_JSON: spec §2)
    err = expect(E.PathError, jag.load, sidecar_model, file=sidecar_model, contains=f"sidecar path '{shown}'")
    assert all(isinstance(e, E.PathError) for e in err.errors), [str(e) for e in err.errors]
    assert len(err.errors) == 1, [str(e) for e in err.errors]


def test_sidecar_bad_path_in_tensor_only(sidecar_model):
    edit(sidecar_model, lambda d: d["tensors"][0].update(file="../model.bin"))
    expect(E.PathError, jag.load, sidecar_model, file=sidecar_model, contains="'../model.bin'")


def test_sidecar_symlink_outside(tmp_path):
    folder = tmp_path / "m"
    path = save(sidecar_graph(), folder)
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "model.bin").rename(outside / "model.bin")
    (folder / "model.bin").symlink_to(outside / "model.bin")
    expect(E.PathError, jag.load, path, file=path, contains=["'model.bin'", "outside the model's folder"])


def test_sidecar_symlink_inside_is_fine(tmp_path):
    path = save(sidecar_graph(), tmp_path)
    (tmp_path / "model.bin").rename(tmp_path / "real.bin")
    (tmp_path / "model.bin").symlink_to("real.bin")
    jag.load(path)


@pytest.mark.parametrize("b64, contains", [
    (base64.b64encode(b"\0" * 5).decode(), "5 bytes; float32 × [] needs 4"),
    ("", "0 bytes"),
    ("!!!!", "bad base64"),
    ("AAAAAAAA8D8", "bad base64"),      # missing padding
    ("AAAA AAAA8D8=", "bad base64"),    # whitespace
])
def test_tensor_inline_bytes(model, b64, contains):
    edit(model, lambda d: d["tensors"][0].update(base64=b64))
    err = expect(E.TensorDataError, jag.load, model, file=model, contains=["tensor 'c0'", contains])
    assert err.field == "/tensors/0"


def test_tensor_bool_bytes(tmp_path):
    path = op_model(tmp_path, lambda x: jag.logical_and(x, np.array([True, False])), np.ones(2, bool))
    edit(path, lambda d: d["tensors"][0].update(base64=base64.b64encode(b"\x01\x07").decode()))
    expect(E.TensorDataError, jag.load, path, file=path, contains="bool")


def test_tensor_data_errors_all_reported(model):
    def corrupt(d):
        d["tensors"].append({"name": "c1", "dtype": "int32", "shape": [2], "base64": "%%%"})
        d["tensors"][0]["base64"] = ""
    edit(model, corrupt)
    err = expect(E.TensorDataError, jag.load, model, file=model)
    assert len(err.errors) == 2


# ---------------------------------------------------------------- 7. E_DTYPE, E_SHAPE inside the graph

def test_dtype_mismatch_in_graph(model):
    """add(float32, int64) edited into the JSON."""
    edit(model, lambda d: d["tensors"][0].update(dtype="int64", base64=base64.b64encode(b"\1" + b"\0" * 7).decode()))
    err = expect(E.DTypeError, jag.load, model, file=model,
                 contains=["node 1 (add)", "input 1 (b) has dtype int64; expected float32"])
    assert isinstance(err, TypeError)
    assert err.field == "inputs[1]"


def test_dtype_not_accepted(tmp_path):
    path = op_model(tmp_path, lambda x: jag.exp(x), np.ones(3, np.float32))
    edit(path, lambda d: d["inputs"][0].update(dtype="int32"))
    expect(E.DTypeError, jag.load, path, file=path, contains=["node 0 (exp)", "int32", "float32"])


def test_dtype_declared_output(model):
    edit(model, lambda d: d["outputs"][0].update(dtype="float64"))
    expect(E.DTypeError, jag.load, model, file=model, contains=["graph output 't1'", "float64", "float32"])


def test_shape_matmul_mismatch(tmp_path):
    path = op_model(tmp_path, lambda x, w: jag.matmul(x, w), np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
    def corrupt(d):
        d["inputs"][1]["shape"] = [4, 5]
    edit(path, corrupt)
    err = expect(E.ShapeError, jag.load, path, file=path, contains=["node 0 (matmul)", "[4,5]", "[2,3]"])
    assert isinstance(err, ValueError)


def test_shape_broadcast_mismatch(model):
    edit(model, lambda d: d["tensors"][0].update(shape=[3], base64=base64.b64encode(b"\0" * 12).decode()))
    expect(E.ShapeError, jag.load, model, file=model, contains=["node 1 (add)", "[N,4]", "[3]", "broadcast"])


def test_shape_declared_output_mismatch(model):
    edit(model, lambda d: d["outputs"][0].update(shape=["N", 5]))
    expect(E.ShapeError, jag.load, model, file=model, contains=["graph output 't1'", "[N,5]", "[N,4]"])


def test_shape_declared_output_rank(model):
    edit(model, lambda d: d["outputs"][0].update(shape=["N"]))
    expect(E.ShapeError, jag.load, model, file=model, contains=["graph output 't1'", "[N]", "[N,4]"])


@pytest.mark.parametrize("dim", ["-1", "2-5", "(1-3)*4"])
def test_shape_negative_dim_expression(model, dim):
    """The schema admits any expression string; a negative constant is still a bad dim."""
    edit(model, lambda d: d["inputs"][1].update(shape=[3, dim]))
    err = expect(E.ShapeError, jag.load, model, file=model, contains=f"'{dim}'")
    assert err.field in ("/inputs/1/shape", "inputs[1].shape")


def test_shape_bad_symbolic_expression(model):
    edit(model, lambda d: d["inputs"][0].update(shape=["N+", 3]))
    expect(E.ShapeError, jag.load, model, file=model, contains="N+")


def test_shape_unbound_symbolic_dim(model):
    edit(model, lambda d: d["inputs"][0].update(shape=["2*M", 3]))
    expect(E.ShapeError, jag.load, model, file=model, contains=["M", "cannot be bound"])


def test_graph_errors_all_reported(model):
    def corrupt(d):
        d["nodes"][0]["op"] = "nope"                      # E_UNKNOWN_OP
        d["nodes"][1]["attrs"] = {"complex64": 1}         # E_ATTR
        d["outputs"][0]["name"] = "ghost"                 # E_GRAPH
    edit(model, corrupt)
    err = expect(E.UnknownOpError, jag.load, model, file=model)
    assert [type(e) for e in err.errors] == [E.UnknownOpError, E.AttrError, E.GraphError]
    for part in ("nope", "complex64", "ghost"):
        assert part in str(err)


# ---------------------------------------------------------------- 8. E_INPUT at run time

@pytest.fixture
def bounded():
    return linear_graph(dims={"N": {"max": 4}})


def _x(n=2):
    return np.ones((n, 3), np.float32)


def _w():
    return np.ones((3, 4), np.float32)


@pytest.mark.parametrize("args, contains", [
    ((np.ones((2, 3), np.float64), _w()), ["input 'x'", "float64", "float32"]),
    ((np.ones(3, np.float32), _w()), ["input 'x'", "rank 1", "rank 2"]),
    ((np.ones((2, 3, 1), np.float32), _w()), ["input 'x'", "rank 3"]),
    ((_x(), np.ones((3, 5), np.float32)), ["input 'w'", "[3,5]", "dim 1 must be 4"]),
    ((_x(), np.ones((4, 4), np.float32)), ["input 'w'", "dim 0 must be 3"]),
    ((_x(5), _w()), ["input 'x'", "'N' = 5", "max 4"]),
    ((_x(),), ["expected"]),
    ((_x(), _w(), _w()), ["expected"]),
    (("abc", _w()), ["input 'x'", "cannot be converted"]),
    ((None, _w()), ["input 'x'", "cannot be converted"]),
    (([[1.0, 2.0], [3.0]], _w()), ["input 'x'"]),
    ((np.ones((2, 3), np.int32), _w()), ["input 'x'", "int32"]),
])
def test_input_errors(bounded, args, contains):
    err = expect(E.InputError, bounded, *args, contains=contains)
    assert isinstance(err, ValueError)


def test_input_errors_name_file(tmp_path):
    path = save(linear_graph(), tmp_path)
    g = jag.load(path)
    expect(E.InputError, g, np.ones((2, 3), np.float64), _w(), file=path, contains="input 'x'")


@pytest.mark.parametrize("dtype, values", [(np.int32, [2 ** 40, 1]), (np.int32, [-2 ** 31 - 1, 0]),
                                           (np.float32, [1e40, 1.0]), (np.uint8, [256, 0]), (np.int64, [2 ** 64, 0])])
def test_input_python_values_out_of_range(dtype, values):
    """Python numbers are converted to the input's dtype, but never wrap or overflow silently."""
    g = jag.trace(lambda x: x * 2, np.ones(2, dtype))
    expect(E.InputError, g, values, contains=["input 'x'", np.dtype(dtype).name])


def test_input_python_scalars_converted(bounded):
    out = bounded([[1, 2, 3]], _w())  # ints convert to float32 (same kind is fine)
    assert out.shape == (1, 4)
    expect(E.InputError, bounded, [[1.5, 2, 3]], np.ones((3, 4), np.int32), contains="input 'w'")


def test_input_symbolic_dim_conflict():
    g = jag.trace(lambda x, y: x + y, _x(), _x(), symbolic={"x": ("N", None), "y": ("N", None)})
    np.testing.assert_array_equal(g(_x(3), _x(3)), np.full((3, 3), 2.0))
    expect(E.InputError, g, _x(2), _x(3), contains=["input 'y'", "'N'", "is 2 from input 'x' dim 0"])


def test_input_derived_dim_conflict(tmp_path):
    path = op_model(tmp_path, lambda x, y: (jag.neg(x), jag.neg(y)), _x(), _x(4), symbolic={"x": ("N", None)})
    edit(path, lambda d: (d["inputs"][1].update(shape=["2*N", 3]), d["outputs"][1].update(shape=["2*N", 3])))
    g = jag.load(path)
    assert [a.shape for a in g(_x(2), _x(4))] == [(2, 3), (4, 3)]
    expect(E.InputError, g, _x(2), _x(5), file=path, contains=["input 'y'", "[5,3]", "dim 0 must be 2*N = 4"])


def test_input_run_dict_missing_and_extra(bounded):
    out = bounded.run({"x": _x(), "w": _w()})
    assert list(out) == [bounded.outputs[0].name]
    expect(E.InputError, bounded.run, {"x": _x()}, contains="missing w")
    expect(E.InputError, bounded.run, {"x": _x(), "w": _w(), "z": _w()}, contains="unknown z")
    expect(E.InputError, bounded.run, {"w": _w(), "y": _w()}, contains=["missing x", "unknown y"])


@pytest.mark.parametrize("tree, contains", [
    ("", "is not a structure"),
    (["tuple", ["*"]], "1 leaves but the graph has 2 inputs"),
    (["tuple", ["*", "*", "*"]], "3 leaves"),
    (["dict", [["a", "*"], [1, "*"]]], "is not a structure"),
    (["set", ["*", "*"]], "is not a structure"),
])
def test_pytree_metadata_inputs(model, tree, contains):
    """metadata["jag.pytree"] is reserved: the reader checks it instead of mis-shaping the arguments."""
    edit(model, lambda d: d["metadata"]["jag.pytree"].update(inputs=tree))
    err = expect(E.SchemaError, jag.load, model, file=model, contains=["/metadata/jag.pytree/inputs", contains])
    assert err.field == "/metadata/jag.pytree/inputs"


def test_pytree_metadata_outputs(model):
    edit(model, lambda d: d["metadata"]["jag.pytree"].update(outputs=["tuple", ["*", "*"]]))
    expect(E.SchemaError, jag.load, model, file=model, contains=["/metadata/jag.pytree/outputs", "2 leaves", "1 outputs"])
    for bad in ([], None, "x"):
        edit(model, lambda d: d["metadata"].update({"jag.pytree": bad}))
        expect(E.SchemaError, jag.load, model, file=model, contains="/metadata/jag.pytree")


def test_pytree_metadata_optional(model):
    edit(model, lambda d: d.pop("metadata"))
    assert jag.load(model)(_x(), _w()).shape == (2, 4)


# ---------------------------------------------------------------- 9. int64 overflow

def test_overflow_tensor_shape(model):
    edit(model, lambda d: d["tensors"][0].update(shape=[2 ** 40, 2 ** 40]))
    err = expect(E.ShapeError, jag.load, model, file=model, contains=["tensor 'c0'", "overflow"])
    assert err.field == "/tensors/0"


def test_overflow_input_shape(tmp_path):
    path = op_model(tmp_path, lambda x: jag.neg(x), np.ones((2, 3), np.float32))
    edit(path, lambda d: (d["inputs"][0].update(shape=[2 ** 40, 2 ** 40]),
                          d["outputs"][0].update(shape=[2 ** 40, 2 ** 40])))
    expect(E.ShapeError, jag.load, path, file=path, contains=["input 'x'", "overflows int64"])


def test_overflow_huge_single_dim(tmp_path):
    path = op_model(tmp_path, lambda x: jag.neg(x), np.ones((2, 3), np.float32))
    edit(path, lambda d: (d["inputs"][0].update(shape=[2 ** 64]), d["outputs"][0].update(shape=[2 ** 64])))
    expect(E.ShapeError, jag.load, path, file=path, contains="overflow")


def test_overflow_broadcast_to_attr(tmp_path):
    path = op_model(tmp_path, lambda x: jag.broadcast_to(x, (2, 3)), np.ones((1, 3), np.float32))
    edit(path, lambda d: (d["nodes"][0]["attrs"].update(shape=[2 ** 40, 2 ** 40, 3]),
                          d["outputs"][0].update(shape=[2 ** 40, 2 ** 40, 3])))
    expect(E.ShapeError, jag.load, path, file=path, contains=["node 0 (broadcast_to)", "overflow"])


@pytest.mark.parametrize("shape", [[2 ** 40, 2 ** 40], [-1, 2 ** 40, 2 ** 40], [2 ** 64]])
def test_overflow_reshape_attr(tmp_path, shape):
    path = op_model(tmp_path, lambda x: jag.reshape(x, (3, 2)), np.ones((2, 3), np.float32))
    edit(path, lambda d: (d["nodes"][0]["attrs"].update(shape=shape), d["outputs"][0].update(shape=[abs(n) for n in shape])))
    err = expect(E.ShapeError, jag.load, path, file=path, contains=["node 0 (reshape)", "attr 'shape'", "overflows int64"])
    assert err.field == "attrs.shape"


def test_overflow_symbolic_at_run_time(tmp_path):
    path = op_model(tmp_path, lambda x: jag.neg(x), np.ones(3, np.float32), symbolic={"x": ("N",)})
    big = ["N*1099511627776", 1099511627776, "N"]
    edit(path, lambda d: (d["nodes"].append({"op": "broadcast_to", "inputs": ["t0"], "outputs": ["big"],
                                             "attrs": {"shape": big}}),
                          d["outputs"].__setitem__(0, {"name": "big", "dtype": "float32", "shape": big})))
    g = jag.load(path)  # fine symbolically (N could be 0) ...
    assert g(np.ones(0, np.float32)).shape == (0, 1099511627776, 0)
    expect(E.ShapeError, g, np.ones(3, np.float32), file=path,  # ... but not for N = 3
           contains=["node 1 (broadcast_to)", "N = 3", "overflows int64"])


# ---------------------------------------------------------------- 10. E_INDEX at run time

def test_gather_index_out_of_range(tmp_path):
    path = op_model(tmp_path, lambda x, i: jag.take(x, i), np.ones((4, 3), np.float32), np.array([0, 1]))
    g = jag.load(path)
    np.testing.assert_array_equal(g(np.ones((4, 3), np.float32), np.array([3, -4])), np.ones((2, 3)))
    err = expect(E.IndexOutOfRangeError, g, np.ones((4, 3), np.float32), np.array([0, 4]), file=path,
                 contains=["node 0 (gather)", "index 4", "size 4"])
    assert isinstance(err, IndexError)
    assert err.node == 0
    expect(E.IndexOutOfRangeError, g, np.ones((4, 3), np.float32), np.array([-5, 0]), contains="index -5")


def test_embedding_index_out_of_range(tmp_path):
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = op_model(tmp_path, lambda i: jag.embedding(i, table), np.array([[0, 1]], np.int64))
    g = jag.load(path)
    expect(E.IndexOutOfRangeError, g, np.array([[0, 9]], np.int64), file=path,
           contains=["node 0 (embedding)", "index 9", "size 4"])


def test_index_error_during_trace():
    expect(E.IndexOutOfRangeError, jag.trace, lambda x: jag.take(x, np.array([7])), np.ones((4, 3), np.float32),
           contains=["gather", "index 7"])


def test_kernel_failure_is_typed(model, monkeypatch):
    """A kernel that fails anyway (a gap in validation) gives E_INTERNAL naming the node, not a bare error."""
    from jag import ops
    g = jag.load(model)

    def broken(a, b):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setitem(ops.IMPLS, "add", broken)
    err = expect(E.InternalError, g, _x(), _w(), file=model,
                 contains=["node 1 (add)", "float32[2,4], float32[]", "ValueError: operands could not"])
    assert isinstance(err, RuntimeError)


def test_softmax_axis_checked_before_running(tmp_path):
    path = op_model(tmp_path, lambda x: jag.softmax(x, axis=1), np.ones((2, 3), np.float32))
    edit(path, lambda d: d["nodes"][0].update(attrs={"axis": 2 ** 70}))
    expect(E.AttrError, jag.load, path, file=path, contains=["node 0 (softmax)", "out of range for rank 2"])


# ---------------------------------------------------------------- never a bare exception

_WEIRD = [None, True, 0, -1, 2, 2 ** 70, 1.5, "", "x", "N", "-1", [], [-1], ["N"], [[1]], {}, {"a": 1}, "float32", "bool"]


def _paths(obj, prefix=()):
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


@pytest.mark.parametrize("make, args", [
    (linear_graph, lambda: [_x(3), _w()]),
    (lambda: jag.trace(lambda x, i: jag.softmax(jag.take(x, i), axis=-1).sum(axis=1), np.ones((4, 3), np.float32),
                       np.array([0, 1])), lambda: [np.ones((4, 3), np.float32), np.array([3, 0])]),
])
def test_every_single_field_corruption_is_typed(make, args):
    """Replace each field of a valid document by odd values: load and run raise JagErrors or succeed."""
    doc = json.loads(make().to_json())
    for path in list(_paths(doc))[1:]:
        for value in _WEIRD + [KeyError]:
            d = json.loads(json.dumps(doc))
            target = d
            for k in path[:-1]:
                target = target[k]
            if value is KeyError:
                del target[path[-1]]
            else:
                target[path[-1]] = value
            try:
                jag.loads(json.dumps(d))(*args())
            except E.JagError as e:
                assert str(e).startswith(f"[{e.code}] ")
            except Exception as e:  # pragma: no cover - a failure names the corruption
                pytest.fail(f"{path} = {value!r}: bare {type(e).__name__}: {e}")


def test_every_truncation_is_typed(sidecar_model):
    text = sidecar_model.read_text()
    for cut in range(0, len(text) - 2, 3):
        with pytest.raises(E.JSONFormatError, match=r"^\[E_JSON\] line \d+, column \d+: "):
            jag.loads(text[:cut])


# ---------------------------------------------------------------- 11. E_FILE

def test_file_missing(tmp_path):
    path = tmp_path / "nope.json"
    err = expect(E.FileError, jag.load, path, file=path, contains="no such file")
    assert isinstance(err, OSError)


def test_file_name_with_nul(tmp_path):
    path = str(tmp_path / "model\x00.json")
    expect(E.FileError, jag.load, path, contains="cannot read")


def test_file_is_directory(tmp_path):
    expect(E.FileError, jag.load, tmp_path, file=tmp_path, contains="folder")


def test_file_unreadable(model, monkeypatch):
    real = Path.read_bytes

    def denied(self):
        if self == model:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod 0 does not stop root
    expect(E.FileError, jag.load, model, file=model, contains="Permission denied")


def test_save_into_missing_folder(tmp_path):
    path = tmp_path / "no" / "model.json"
    expect(E.FileError, linear_graph().save, path, file=path, contains="does not exist")


# ---------------------------------------------------------------- 12. tracing errors

def test_trace_matmul_shapes():
    err = expect(E.ShapeError, jag.trace, lambda x, y: x @ y, np.ones((2, 3), np.float32), np.ones((4, 5), np.float32),
                 contains=["matmul", "[4,5]", "[2,3]"])
    assert err.op == "matmul"


def test_trace_bool_operands_promote_as_numpy():
    """Promotion is the tracer's job (graph ops are strict): bool counts in int64, float-only ops get float64."""
    g = jag.trace(lambda x: (jag.exp(x), x.sum()), np.array([True, False]))
    e, s = g(np.array([True, False]))
    assert e.dtype == np.float64 and np.allclose(e, [np.e, 1.0]) and s.dtype == np.int64 and s == 1
    expect(E.DTypeError, jag.trace, lambda x: jag.where(x, x, x), np.ones(3, np.float32), contains=["where", "bool"])


def test_trace_unsupported_argument_dtype():
    expect(E.DTypeError, jag.trace, lambda x: x, np.ones(3, np.complex64), contains=["'x'", "complex64"])


def test_loaded_exp_of_bool(tmp_path):
    """The graph-level rule is right: exp takes float dtypes only."""
    path = op_model(tmp_path, lambda x: jag.exp(x), np.ones(3, np.float32))
    edit(path, lambda d: d["inputs"][0].update(dtype="bool"))
    expect(E.DTypeError, jag.load, path, file=path, contains=["node 0 (exp)", "bool"])


def test_trace_softmax_axis_out_of_range():
    expect(E.AttrError, jag.trace, lambda x: jag.softmax(x, axis=5), np.ones((2, 3), np.float32),
           contains=["softmax", "axis 5"])


def test_trace_broadcast_overflow():
    expect(E.ShapeError, jag.trace, lambda x: jag.broadcast_to(x, (2 ** 40, 2 ** 40)), np.ones((1, 1), np.float32),
           contains=["broadcast_to", "overflow"])


def test_trace_bad_attr():
    expect(E.AttrError, jag.trace, lambda x: jag.transpose(x, (0, 0)), np.ones((2, 3), np.float32),
           contains=["transpose", "permutation"])


def test_trace_arity():
    expect(E.ArityError, jag.trace, lambda x: jag.add(x), np.ones(3, np.float32), contains=["add", "expected 2 inputs"])


# ---------------------------------------------------------------- saving is atomic and schema-valid

def _listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


@pytest.mark.parametrize("fail_call", [1, 2])
def test_save_failure_keeps_previous_model(tmp_path, monkeypatch, fail_call):
    """A write that fails midway (disk full) leaves the previous model.json and model.bin loadable."""
    path = save(sidecar_graph(), tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in _listing(tmp_path)}
    assert set(before) == {"model.json", "model.bin"}

    import jag.serialize as ser
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == fail_call:  # 1: while writing model.bin, 2: while writing model.json
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(ser.os, "fsync", failing_fsync)
    other = jag.trace(lambda x: jag.matmul(x, W_BIG * 2), np.ones((2, 64), np.float32))
    expect(E.FileError, other.save, path, file=path, contains="No space left")
    monkeypatch.undo()
    assert _listing(tmp_path) == ["model.bin", "model.json"]  # no temp files left behind
    assert {name: (tmp_path / name).read_bytes() for name in _listing(tmp_path)} == before
    x = np.ones((2, 64), np.float32)
    np.testing.assert_allclose(jag.load(path)(x), x @ W_BIG, rtol=1e-6)


def test_save_interrupted_keeps_previous_model(tmp_path, monkeypatch):
    path = save(linear_graph(), tmp_path)
    before = path.read_bytes()
    import jag.serialize as ser

    def boom(doc):
        raise KeyboardInterrupt

    monkeypatch.setattr(ser, "dumps", boom)
    with pytest.raises(KeyboardInterrupt):
        sidecar_graph().save(path)
    monkeypatch.undo()
    assert _listing(tmp_path) == ["model.json"]
    assert path.read_bytes() == before


def test_save_write_raises_midway(tmp_path, monkeypatch):
    path = save(linear_graph(), tmp_path)
    before = path.read_bytes()
    import jag.serialize as ser
    real_fdopen = os.fdopen

    class Flaky:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return self.f.__exit__(*a)

        def write(self, chunk):
            self.f.write(chunk[:10])
            raise OSError(errno.EIO, "Input/output error")

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(ser.os, "fdopen", lambda fd, mode: Flaky(real_fdopen(fd, mode)))
    expect(E.FileError, linear_graph(name="other").save, path, file=path, contains="Input/output error")
    monkeypatch.undo()
    assert _listing(tmp_path) == ["model.json"]
    assert path.read_bytes() == before


def test_save_overwrites_and_removes_nothing_else(tmp_path):
    path = save(sidecar_graph(), tmp_path)
    save(linear_graph(), tmp_path)
    assert "model.json" in _listing(tmp_path)
    assert jag.load(path).name == "<lambda>"
    assert not [n for n in _listing(tmp_path) if n.endswith(".tmp")]


@pytest.mark.parametrize("make, kw", [
    (linear_graph, {}),
    (lambda: linear_graph(dims={"N": {"max": 4}}), {}),
    (sidecar_graph, {}),
    (sidecar_graph, {"inline_limit": 0}),
    (sidecar_graph, {"inline_limit": 1 << 20}),
    (lambda: jag.trace(lambda x: jag.take(x, np.array([0, 1])) * np.float32(np.inf), np.ones((4, 3), np.float32)), {}),
])
def test_saved_json_matches_schema(tmp_path, make, kw):
    g = make()
    path = save(g, tmp_path, **kw)
    schema = json.loads((SPEC / "jag.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = read(path)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    assert not errors, [e.message for e in errors]
    for f in doc.get("files", []):
        data = (tmp_path / f["path"]).read_bytes()
        assert len(data) == f["nbytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
    assert not [n for n in _listing(tmp_path) if n.startswith(".")]
    jag.load(path)


def test_errors_pickle():
    import pickle
    err = E.ShapeError("bad", file="m.json", node=3, node_name="mm", op="matmul", field="inputs[1]")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is E.ShapeError and str(again) == str(err) == "[E_SHAPE] m.json: node 3 'mm' (matmul): bad"
