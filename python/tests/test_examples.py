"""The README example and examples/quickstart.py run as written."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == ["36", "36 [ 36  80 150]"]
    assert (tmp_path / "model.json").exists()


def test_quickstart_script(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "f(3, 1) = 36" in r.stdout and "f([3, 4, 5], 1) = [ 36  80 150]" in r.stdout


def test_make_targets_exist():
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", mk, re.M) and re.search(r"^test:", mk, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_top_gradient_path_example_on_the_cnn(tmp_path):
    """examples/top_gradient_path.py (CNN part; MiniLM takes ~30 s and is run by hand): it
    finds a top path and an entropy and saves the picture."""
    import xml.etree.ElementTree as ET
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "top_gradient_path.py"), "--only", "cnn",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    entropy = float(re.search(r"path entropy ([0-9.]+) nats", r.stdout).group(1))
    assert 0 < entropy < 50
    assert "top path in full:" in r.stdout and "(target)" in r.stdout
    svg = tmp_path / "digits_cnn_top_path.svg"
    ET.parse(svg)                               # a well-formed SVG


def test_readme_semiring_snippet_prints_the_worked_example(capsys, tmp_path, monkeypatch):
    """The README's jag.semiring snippet gives the shared notes' numbers (T1)."""
    text = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "top_paths" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile("import jag\n" + block.replace('"flow.svg"', f'"{tmp_path / "flow.svg"}"'), "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert float(lines[0]) == pytest.approx(1.5254687, abs=1e-6)
    assert [float(line.split()[0]) for line in lines[1:]] == [9.0, -6.0, -6.0]
    assert (tmp_path / "flow.svg").exists()
