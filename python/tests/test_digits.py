"""Training on real data everywhere: examples/digits_mlp.py and digits_cnn.py, end to end.

Both examples run in full (the default epochs, as `python examples/digits_*.py` does): the
traced train_step loop on the reference interpreter, ./jagrun --loop and node run.js
--loop, each runtime's test accuracy from its own run of the predict graph. Asserted:
Python's test accuracy >= 97 % for the MLP and the CNN, every runtime's final values
within 1e-4 (relative, max norm) of Python's and the same test accuracy. About 25 s.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import digits_common as common  # noqa: E402


def _check_report(report, out_dir):
    assert [r.runtime for r in report.results] == ["python", "c", "js"]
    py = report["python"]
    assert py.accuracy >= 0.97, report.failures
    assert np.isfinite(py.loss) and py.loss < 0.5
    for rt in ("c", "js"):
        r = report[rt]
        assert r.error is None, r.error
        assert r.max_rel_diff <= 1e-4, (rt, r.max_rel_diff)
        assert r.accuracy == py.accuracy, (rt, r.accuracy, py.accuracy)
        assert abs(r.loss - py.loss) <= 1e-4 * max(1.0, abs(py.loss))
    assert report.ok and report.exit_code == 0, report.failures
    for f in ("train_step.json", "init.bin", "data.bin", "predict.json", "final-c.bin", "final-js.bin"):
        assert (out_dir / f).exists(), f


@pytest.mark.parametrize("name", ["digits_mlp", "digits_cnn"])
def test_example_trains_to_97_percent_on_every_runtime(name, tmp_path, capsys):
    example = __import__(name)
    report = example.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    _check_report(report, tmp_path)
    assert "test accuracy" in out and "ok:" in out and "FAILED" not in out

    # The accuracy again, independently: a numpy forward pass with the C runtime's final params
    # (the step graph's first outputs: weight, bias of the first layer, then of the last).
    import jag
    final = jag.load_tensors(tmp_path / "final-c.bin")
    names = [vi.name for vi in jag.load(tmp_path / "train_step.json").outputs]
    _, _, x_test, y_test = common.load_split((64,) if name == "digits_mlp" else (1, 8, 8))
    p = [final[n].astype(np.float64) for n in names[:4]]
    if name == "digits_mlp":
        w1, b1, w2, b2 = p[:4]
        logits = np.maximum(x_test @ w1.T + b1, 0) @ w2.T + b2
    else:
        w, b, wl, bl = p[:4]
        n = len(x_test)
        xp = np.pad(x_test, ((0, 0), (0, 0), (1, 1), (1, 1)))
        conv = np.zeros((n, w.shape[0], 8, 8), np.float64)
        for i in range(3):
            for j in range(3):
                conv += np.einsum("nchw,oc->nohw", xp[:, :, i:i + 8, j:j + 8], w[:, :, i, j])
        h = np.maximum(conv + b[None, :, None, None], 0)
        h = h.reshape(n, w.shape[0], 4, 2, 4, 2).max(axis=(3, 5)).reshape(n, -1)
        logits = h @ wl.T + bl
    assert np.mean(logits.argmax(-1) == y_test) == report["c"].accuracy


def test_data_split_and_batches():
    x_tr, y_tr, x_te, y_te = common.load_split((1, 8, 8))
    assert x_tr.shape == (1437, 1, 8, 8) and x_te.shape == (360, 1, 8, 8) and x_tr.dtype == np.float32
    assert y_tr.dtype == np.int64 and set(np.unique(y_te)) == set(range(10))
    assert x_tr.min() == 0 and x_tr.max() == 1
    from sklearn.datasets import load_digits
    d = load_digits()
    perm = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(x_te.reshape(360, 64), (d.data[perm[1437:]] / 16).astype(np.float32))
    xs, ys = common.epoch_batches(x_tr, y_tr, 3, seed=5)
    assert xs.shape == (66, 64, 1, 8, 8) and ys.shape == (66, 64)
    # each epoch: 22 batches of 1408 distinct training images (29 dropped), in an order fixed by the seed
    idx, _ = common.epoch_batches(np.arange(1437), np.arange(1437), 3, seed=5)
    for e in range(3):
        assert len(np.unique(idx[22 * e:22 * (e + 1)])) == 1408
    assert not np.array_equal(idx[:22], idx[22:44])
    np.testing.assert_array_equal(idx, common.epoch_batches(np.arange(1437), np.arange(1437), 3, seed=5)[0])
    np.testing.assert_array_equal(xs[7, 3], x_tr[idx[7, 3]])
    keys = common.step_keys(66, seed=0)
    assert keys.dtype == np.int64 and keys.shape == (66,) and len(set(keys.tolist())) == 66
    np.testing.assert_array_equal(keys, common.step_keys(66, seed=0))


def test_max_rel_diff():
    want = {"w": np.array([1.0, -2.0], np.float32), "step": np.array(3, np.int64)}
    assert common.max_rel_diff(dict(want), want) == 0
    assert common.max_rel_diff({"w": np.array([1.0, -2.0002], np.float32), "step": np.array(3)}, want) == \
        pytest.approx(1e-4, rel=1e-3)
    assert common.max_rel_diff({"w": want["w"], "step": np.array(4, np.int64)}, want) == float("inf")
    assert common.max_rel_diff({"w": want["w"]}, want) == float("inf")


def test_script_exits_nonzero_when_a_check_fails(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLES / "digits_mlp.py"), "--epochs", "1", "--runtimes", "none",
                        "--min-accuracy", "0.999", "--out", str(tmp_path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, r.stderr
    assert "FAILED python: test accuracy" in r.stdout and "python" in r.stdout
    r = subprocess.run([sys.executable, str(EXAMPLES / "digits_mlp.py"), "--runtimes", "cuda"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown runtime" in r.stderr
