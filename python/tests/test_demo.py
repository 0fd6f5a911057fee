"""`make demo`'s digits part (examples/demo.py), end to end with the real command-line runtimes.

The digits CNN is trained in full (25 epochs, as `make demo` does; about 5 s), exported as
model.json with the 360 held-out test images in ONE input.bin, and run by the reference
interpreter, `./jagrun model.json input.bin -o out_c.bin` and `node run.js model.json
input.bin -o out_js.bin` (subprocesses). Asserted: >= 97 % test accuracy, the same
accuracy and the same predicted label for every image on every runtime, logits within
1e-4 — and the logits against an independent PyTorch forward pass of the trained
parameters. Also: the parameter cache, the exit status on a failed check, the checks
themselves on doctored outputs. About 15 s.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jag

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import demo  # noqa: E402
import digits_common as common  # noqa: E402


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`demo.py --only digits --out DIR` run once in-process: (exit status, stdout, DIR)."""
    out = tmp_path_factory.mktemp("demo")
    capture = io.StringIO()
    old, sys.stdout = sys.stdout, capture
    try:
        status = demo.main(["--only", "digits", "--out", str(out)])
    finally:
        sys.stdout = old
    return status, capture.getvalue(), out


def test_digits_cnn_same_accuracy_and_labels_on_python_c_js(demo_run):
    status, text, out = demo_run
    assert status == 0, text
    folder = out / "digits_cnn"
    for f in ("model.json", "input.bin", "labels.bin", "out_python.bin", "out_c.bin", "out_js.bin"):
        assert (folder / f).exists(), f

    # ONE input.bin with every held-out test image, fed to a graph with a symbolic batch dim.
    _, _, x_test, y_test = common.load_split((1, 8, 8))
    inputs = jag.load_tensors(folder / "input.bin")
    assert list(inputs) == ["x"]
    np.testing.assert_array_equal(inputs["x"], x_test)
    np.testing.assert_array_equal(jag.load_tensors(folder / "labels.bin")["y"], y_test)
    graph = jag.load(folder / "model.json")
    assert [str(v) for v in graph.inputs] == ["x: float32[N,1,8,8]"]
    assert [str(v) for v in graph.outputs] == ["logits: float32[N,10]", "labels: int64[N]"]

    outs = {rt: jag.load_tensors(folder / f"out_{rt}.bin") for rt in ("python", "c", "js")}
    preds = {rt: o["logits"].argmax(-1) for rt, o in outs.items()}
    acc = {rt: float(np.mean(p == y_test)) for rt, p in preds.items()}
    assert acc["python"] >= 0.97
    assert acc["c"] == acc["python"] and acc["js"] == acc["python"]
    for rt in ("c", "js"):
        np.testing.assert_array_equal(preds[rt], preds["python"])          # every image, not only the count
        np.testing.assert_array_equal(outs[rt]["labels"], preds[rt])       # the runtime's own argmax op
        np.testing.assert_allclose(outs[rt]["logits"], outs["python"]["logits"], rtol=0, atol=1e-4)
    assert outs["python"]["logits"].shape == (360, 10)

    # The report printed what the files say.
    assert f"{acc['python']:.2%}" in text and "ok: same accuracy and the same label for every image" in text
    assert "FAILED" not in text and "demo ok" in text

    # Independent: PyTorch's conv/pool/linear on the cached trained parameters give the same logits.
    import torch
    import torch.nn.functional as F
    (cache,) = folder.glob("params-*.bin")
    p = {k: torch.from_numpy(v) for k, v in jag.load_tensors(cache).items()}
    with torch.no_grad():
        h = F.max_pool2d(F.relu(F.conv2d(torch.from_numpy(x_test), p["0.weight"], p["0.bias"], padding=1)), 2)
        logits = F.linear(h.flatten(1), p["5.weight"], p["5.bias"]).numpy()
    np.testing.assert_allclose(outs["python"]["logits"], logits, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(logits.argmax(-1), preds["python"])


def test_the_model_checks_itself_on_every_cli(demo_run):
    """model.json embeds a test batch: `./jagrun model.json` and `node run.js model.json` check it."""
    _, _, out = demo_run
    model = out / "digits_cnn" / "model.json"
    for cmd in (common.runtime_command("c"), common.runtime_command("js")):
        r = subprocess.run(cmd + [str(model)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "check: all outputs agree" in r.stdout


def test_trained_parameters_are_cached(demo_run):
    _, _, out = demo_run
    folder = out / "digits_cnn"
    (cache,) = folder.glob("params-*.bin")
    assert cache.name == f"params-{demo.cache_key(demo.cnn.EPOCHS)}.bin"
    params, path, cached = demo.train_cnn(demo.cnn.EPOCHS, folder)
    assert cached and path == cache
    stored = jag.load_tensors(cache)
    np.testing.assert_array_equal(params["0"]["weight"], stored["0.weight"])
    assert demo.cache_key(demo.cnn.EPOCHS) != demo.cache_key(demo.cnn.EPOCHS - 1)


def test_checks_catch_a_disagreement(demo_run):
    _, _, out = demo_run
    folder = out / "digits_cnn"
    y = jag.load_tensors(folder / "labels.bin")["y"]
    results = {rt: (jag.load_tensors(folder / f"out_{rt}.bin"), 0.0) for rt in ("python", "c", "js")}
    rows, failures = demo.check_digits(results, y)
    assert failures == [] and rows["c"]["label_diffs"] == 0

    js = {k: v.copy() for k, v in results["js"][0].items()}
    i = 7                                      # make image 7's second-best class the best one
    second = np.argsort(js["logits"][i])[-2]
    js["logits"][i, second] += 50.0
    js["labels"][i] = second
    rows, failures = demo.check_digits({**results, "js": (js, 0.0)}, y)
    assert rows["js"]["label_diffs"] == 1 and rows["js"]["logits_diff"] > 49.0
    assert any("js predicts another label than python for 1 images" in f for f in failures)
    assert any("js's logits differ" in f for f in failures)

    c = {k: v.copy() for k, v in results["c"][0].items()}
    c["labels"][0] = (c["labels"][0] + 1) % 10          # a runtime whose own argmax is wrong
    _, failures = demo.check_digits({**results, "c": (c, 0.0)}, y)
    assert failures == ["digits: c's labels output is not the argmax of its logits"]


def test_script_exits_nonzero_when_a_check_fails(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--only", "digits", "--epochs", "1",
                        "--runtimes", "none", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED digits: python's test accuracy" in r.stdout and "demo FAILED" in r.stdout
    assert (tmp_path / "digits_cnn" / f"params-{demo.cache_key(1)}.bin").exists()
    r = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--runtimes", "cuda"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown runtime" in r.stderr


def test_progress_bar():
    buf = io.StringIO()                        # not a terminal: only the final line
    with demo.Progress("train", 4, width=8, stream=buf) as bar:
        for k in range(4):
            bar.update(1, f"loss {k}")
    line = buf.getvalue()
    assert line.count("\n") == 1 and line.startswith("  train      [########] 4/4 loss 3  ")

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    with demo.Progress("run", 2, width=4, stream=tty) as bar:
        bar.update(1, "c")
    text = tty.getvalue()
    assert "[....] 0/2" in text and "[##..] 1/2 c" in text and text.endswith("\n") and "\r\x1b[2K" in text
