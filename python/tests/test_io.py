"""Save -> load -> execute round trips are bit-identical; files validate against the schema."""
import json

import jsonschema
import numpy as np
import pytest

import jag
from jag import serialize, spec

rng = np.random.default_rng(1)


def _models():
    w1 = rng.standard_normal((16, 32)).astype(np.float32)       # 2 KiB: inline by default
    w2 = rng.standard_normal((32, 64)).astype(np.float32)       # 8 KiB: sidecar by default
    emb = rng.standard_normal((50, 8))                           # float64, sidecar
    big = np.array([2 ** 60 + 1, -(2 ** 62) - 3, 7], dtype=np.int64)
    mask = np.array([True, False, True])

    def mlp(x):
        return jag.softmax(jag.relu(x @ w1) @ w2, axis=-1)

    def mixed(ids, k):
        e = jag.embedding(ids, emb)                              # [N, 8]
        e = jag.dropout(e, k, p=0.25)
        i = jag.where(mask, big, big * 2)
        return {"e": e.sum(axis=0), "i": i, "u8": (jag.cast(ids, dtype="uint8") + 250)}

    def conv(x, w):
        y = jag.conv2d(x, w, stride=2, padding=1)
        return jag.max_pool2d(y, 2).reshape(x.shape[0], -1)

    return [
        ("mlp", jag.trace(mlp, rng.standard_normal((4, 16)).astype(np.float32), symbolic={"x": ("N", None)}),
         [rng.standard_normal((3, 16)).astype(np.float32)]),
        ("mixed", jag.trace(mixed, np.array([1, 4, 49]), np.int64(7), symbolic={"ids": ["N"]}),
         [np.array([0, 3, 9, 49, 2]), np.int64(123)]),
        ("conv", jag.trace(conv, rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3)),
                           symbolic={"x": ("N", None, "H", "W")}),
         [rng.standard_normal((1, 3, 12, 10)), rng.standard_normal((4, 3, 3, 3))]),
    ]


MODELS = _models()


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("inline_limit", [0, 4096, 10 ** 9])
@pytest.mark.parametrize("name,graph,args", MODELS, ids=[m[0] for m in MODELS])
def test_round_trip_is_bit_identical(tmp_path, name, graph, args, inline_limit):
    path = tmp_path / "model.json"
    graph.save(path, inline_limit=inline_limit)
    loaded = jag.load(path)
    want, got = graph(*args), loaded(*args)
    for a, b in zip(jag.pytree.flatten(want)[0], jag.pytree.flatten(got)[0]):
        assert _same(a, b)
    for k, arr in graph.tensors.items():
        assert _same(arr, loaded.tensors[k])
    # saved files validate against the schema, and saving again gives the same bytes
    doc = json.loads(path.read_text())
    jsonschema.Draft202012Validator(spec.SCHEMA).validate(doc)
    sidecars = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".bin")
    if inline_limit == 0 and graph.tensors:
        assert sidecars == ["model.bin"] and doc["files"][0]["path"] == "model.bin"
        assert all(t["offset"] % 64 == 0 for t in doc["tensors"])
    if inline_limit == 10 ** 9:
        assert sidecars == [] and "files" not in doc
    loaded.save(tmp_path / "again.json", inline_limit=inline_limit)
    assert (tmp_path / "again.json").read_text() == path.read_text().replace('"model.bin"', '"again.bin"')


def test_sidecar_rolls_over_before_its_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(serialize, "SIDECAR_MAX", 1000)
    ws = [rng.standard_normal(100).astype(np.float32) for _ in range(5)]  # 400 bytes each
    g = jag.trace(lambda x: sum((x * w for w in ws), x), np.zeros(100, np.float32))
    g.save(tmp_path / "m.json", inline_limit=0)
    doc = json.loads((tmp_path / "m.json").read_text())
    assert [f["path"] for f in doc["files"]] == ["m.bin", "m.1.bin", "m.2.bin"]
    assert all(f["nbytes"] <= 1000 for f in doc["files"])
    x = rng.standard_normal(100).astype(np.float32)
    assert _same(jag.load(tmp_path / "m.json")(x), g(x))


def test_large_counts_may_be_strings(tmp_path):
    g = jag.trace(lambda x: x * np.arange(2000, dtype=np.float32), np.zeros(2000, np.float32))
    g.save(tmp_path / "m.json", inline_limit=0)
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["tensors"][0]["nbytes"] = str(doc["tensors"][0]["nbytes"])
    doc["tensors"][0]["offset"] = str(doc["tensors"][0]["offset"])
    (tmp_path / "m.json").write_text(json.dumps(doc))
    x = rng.standard_normal(2000).astype(np.float32)
    assert _same(jag.load(tmp_path / "m.json")(x), g(x))


def test_to_json_and_loads_match(tmp_path):
    _, g, args = MODELS[1]
    g2 = jag.loads(g.to_json())
    assert _same(g2(*args)["i"], g(*args)["i"])
    assert g2.name == g.name and [v.name for v in g2.inputs] == [v.name for v in g.inputs]


def test_every_dtype_round_trips_through_tensors_and_bundles(tmp_path):
    arrays = {
        "f32": np.array([1.5, -0.0, np.inf, np.nan], np.float32), "f64": np.array([np.pi, 5e-324, -np.inf]),
        "i32": np.array([-(2 ** 31), 2 ** 31 - 1], np.int32), "i64": np.array([2 ** 63 - 1, -(2 ** 53) - 1], np.int64),
        "u8": np.array([0, 255], np.uint8), "b": np.array([[True, False]]), "scalar": np.array(3.25),
    }
    g = jag.trace(lambda: {k: jag.constant(v) for k, v in arrays.items()})
    g.save(tmp_path / "m.json", inline_limit=8)
    out = jag.load(tmp_path / "m.json")()
    for k, v in arrays.items():
        assert _same(out[k], v), k
    jag.save_tensors(tmp_path / "t.bin", arrays)
    back = jag.load_tensors(tmp_path / "t.bin")
    for k, v in arrays.items():
        assert _same(back[k], v), k


def test_run_with_bundles_and_names(tmp_path):
    _, g, args = MODELS[0]
    g.save(tmp_path / "m.json")
    jag.save_tensors(tmp_path / "in.bin", {"x": args[0]})
    out = jag.load(tmp_path / "m.json").run(jag.load_tensors(tmp_path / "in.bin"))
    assert list(out) == [g.outputs[0].name]
    assert _same(out[g.outputs[0].name], g(*args))


def test_dims_bounds_are_saved(tmp_path):
    g = jag.trace(lambda x: x + 1, np.zeros(3), symbolic={"x": ["N"]}, dims={"N": {"max": 8}})
    g.save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["dims"] == {"N": {"max": 8}} and doc["inputs"][0]["shape"] == ["N"]
    assert jag.load(tmp_path / "m.json")(np.zeros(8)).shape == (8,)


def test_saved_files_have_ordinary_permissions(tmp_path):
    import os
    g = jag.trace(lambda x: x * np.arange(2000, dtype=np.float32), np.zeros(2000, np.float32))
    g.save(tmp_path / "m.json", inline_limit=0)
    umask = os.umask(0)
    os.umask(umask)
    for name in ("m.json", "m.bin"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_sidecar_size_limit_on_write_and_read(tmp_path, monkeypatch):
    g = jag.trace(lambda x: x * np.arange(2000, dtype=np.float32), np.zeros(2000, np.float32))
    g.save(tmp_path / "ok.json", inline_limit=0)
    doc = json.loads((tmp_path / "ok.json").read_text())
    doc["files"][0]["nbytes"] = "3000000000"
    (tmp_path / "big.json").write_text(json.dumps(doc))
    with pytest.raises(jag.TensorDataError, match="2 GiB"):
        jag.load(tmp_path / "big.json")
    monkeypatch.setattr(serialize, "SIDECAR_MAX", 4000)   # one 8000-byte tensor cannot fit any sidecar
    with pytest.raises(jag.TensorDataError, match="at most 4000 bytes"):
        g.save(tmp_path / "m.json", inline_limit=0)
    assert not (tmp_path / "m.json").exists()


def test_validate_rechecks_sidecars_of_a_loaded_graph(tmp_path):
    g = jag.trace(lambda x: x * np.arange(2000, dtype=np.float32), np.zeros(2000, np.float32))
    g.save(tmp_path / "m.json", inline_limit=0)
    loaded = jag.load(tmp_path / "m.json")
    assert loaded.validate() is loaded
    data = bytearray((tmp_path / "m.bin").read_bytes())
    data[100] ^= 0xFF
    (tmp_path / "m.bin").write_bytes(bytes(data))
    with pytest.raises(jag.TensorDataError, match="SHA-256"):
        loaded.validate()
    (tmp_path / "m.bin").unlink()
    with pytest.raises(jag.FileError, match="m.bin"):
        loaded.validate()
