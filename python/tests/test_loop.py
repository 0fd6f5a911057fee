"""Loops: a step graph whose outputs feed its next step (metadata["jag.loop"], spec §2),
run by the reference (Graph.run_loop), ./jagrun --loop and node run.js --loop, which must
end with the same values."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import jag
from jag import errors as E

ROOT = Path(__file__).resolve().parents[2]
JAGRUN = ROOT / "runtimes" / "c" / "jagrun"
RUNJS = ROOT / "runtimes" / "js" / "run.js"


def sgd_step(p, x, y):
    """One gradient-descent step of least squares y ≈ x @ w + b (gradient written by hand)."""
    pred = jag.matmul(x, p["w"]) + p["b"]
    err = pred - y
    loss = (err * err).mean()
    lr = np.float32(0.05) / np.float32(x.shape[0])
    return {"w": p["w"] - lr * jag.matmul(x.T, err), "b": p["b"] - lr * err.sum(axis=0)}, loss


@pytest.fixture
def loop_case(tmp_path):
    rng = np.random.default_rng(0)
    p0 = {"w": np.zeros((3, 2), np.float32), "b": np.zeros(2, np.float32)}
    true_w = rng.standard_normal((3, 2)).astype(np.float32)
    xs = rng.standard_normal((40, 8, 3)).astype(np.float32)
    ys = (xs @ true_w + 0.5).astype(np.float32)
    g = jag.trace(sgd_step, p0, xs[0], ys[0]).set_loop(argnums=(0,))
    path = tmp_path / "step.json"
    g.save(path)
    names = [vi.name for vi in g.inputs]
    init = {names[0]: p0["w"], names[1]: p0["b"]}
    data = {names[2]: xs, names[3]: ys}
    jag.save_tensors(tmp_path / "init.bin", init)
    jag.save_tensors(tmp_path / "data.bin", data)
    return g, path, init, data, tmp_path


def test_reference_loop_learns(loop_case):
    g, _, init, data, _ = loop_case
    outs, history = g.run_loop(init, data)
    (loss_name,) = history
    assert history[loss_name].shape == (40,)
    assert history[loss_name][-1] < 0.05 * history[loss_name][0]


@pytest.mark.parametrize("runtime", ["c", "js"])
def test_runtimes_end_with_the_reference_values(loop_case, runtime):
    g, path, init, data, tmp = loop_case
    want, history = g.run_loop(init, data)
    out = tmp / f"final-{runtime}.bin"
    cmd = [str(JAGRUN)] if runtime == "c" else [shutil.which("node"), str(RUNJS)]
    r = subprocess.run(cmd + [str(path), str(tmp / "init.bin"), "--loop", str(tmp / "data.bin"), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("step ") == 10 and "step 40:" in r.stdout
    got = jag.load_tensors(out)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=f"{runtime} {name}")


@pytest.mark.parametrize("runtime", ["c", "js"])
def test_loop_errors(loop_case, runtime, tmp_path):
    g, path, init, data, tmp = loop_case
    cmd = [str(JAGRUN)] if runtime == "c" else [shutil.which("node"), str(RUNJS)]
    run = lambda *a: subprocess.run(cmd + [str(x) for x in a], capture_output=True, text=True, timeout=60)
    r = run(path, "--loop", tmp / "data.bin")                       # no init.bin
    assert r.returncode == 4 and "[E_INPUT]" in r.stderr
    jag.save_tensors(tmp / "short.bin", {k: v[:5] if i == 0 else v for i, (k, v) in enumerate(data.items())})
    r = run(path, tmp / "init.bin", "--loop", tmp / "short.bin")   # steps disagree
    assert r.returncode == 4 and "steps" in r.stderr
    plain = tmp / "plain.json"
    jag.trace(lambda x: x * 2, np.ones(2, np.float32)).save(plain)
    r = run(plain, tmp / "init.bin", "--loop", tmp / "data.bin")   # not a loop graph
    assert r.returncode == 4 and "no loop" in r.stderr


def test_set_loop_checks_the_pairs():
    g = jag.trace(sgd_step, {"w": np.zeros((3, 2), np.float32), "b": np.zeros(2, np.float32)},
                  np.ones((8, 3), np.float32), np.ones((8, 2), np.float32))
    with pytest.raises(E.GraphError):
        g.set_loop({g.outputs[0].name: g.inputs[1].name})          # [3,2] output into a [2] input
    with pytest.raises(E.GraphError):
        g.set_loop({"nope": g.inputs[0].name})
    with pytest.raises(E.GraphError):
        g.set_loop(argnums=(2,))                                   # output 0 is a dict, argument 2 an array
