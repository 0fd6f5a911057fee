"""Write the conformance corpus: one folder per case (conformance/FORMAT.md).

    python -m conformance generate [--out DIR] [-k PATTERN]... [--list]

The corpus is built into a temporary folder beside DIR (default conformance/build/cases),
which then replaces DIR, so a failed or interrupted run never leaves half a corpus behind.
Generation is deterministic: the same cases, the same bytes, on every run and machine
(fixed seeds, no timestamps; safetensors and model.json are written in a fixed order).

Before a case is written its reference is checked (see conformance/cases.py); after it is
written, the Python reference loads the folder as a runtime would and must reproduce
expected.safetensors bit for bit, or (error cases) fail with exactly the code in ``error``.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import jag

from . import cases as C
from .error_cases import python_code

DEFAULT_OUT = Path(__file__).resolve().parent / "build" / "cases"


def matches(case_id: str, patterns) -> bool:
    """True when ``patterns`` is empty, or one of them is a substring of the id or matches it as a
    shell-style glob (``op.add.*``, ``*float64*``)."""
    return not patterns or any(p in case_id or fnmatch.fnmatchcase(case_id, p) for p in patterns)


def selected(patterns=()) -> list:
    """The entries (id, build) whose id matches one of ``patterns``, in corpus order."""
    return [e for e in C.entries() if matches(e.id, patterns)]


def write_case(case: C.Case, folder: Path) -> None:
    """Write ``case`` into ``folder`` (created) and check the folder with the Python reference."""
    folder.mkdir(parents=True)
    model = folder / "model.json"
    case.graph.save(model, inline_limit=case.inline_limit)
    if case.corrupt is not None:
        case.corrupt(model)
    jag.save_tensors(folder / "inputs.safetensors", case.inputs)
    if case.error is not None:
        (folder / "error").write_text(case.error + "\n")
        got = python_code(model, jag.load_tensors(folder / "inputs.safetensors"))
        if got != case.error:
            raise AssertionError(f"{case.id}: the Python reference reports {got}, the case expects {case.error}")
    else:
        jag.save_tensors(folder / "expected.safetensors", case.expected)
        _check_folder(case, folder)
    (folder / "case.json").write_text(case_json(case))


def case_json(case: C.Case) -> str:
    """case.json's text: one key per line, each value on one line (as in conformance/FORMAT.md)."""
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in case.metadata().items()) + "\n}\n"


def _check_folder(case: C.Case, folder: Path) -> None:
    """The written files, read back as a runtime reads them, give the expected outputs within the
    case's tolerance (bit for bit where it is 0/0; lowered cases run the lowering, not the composite)."""
    g = jag.load(folder / "model.json")
    got = g.run(jag.load_tensors(folder / "inputs.safetensors"))
    want = jag.load_tensors(folder / "expected.safetensors")
    if not set(got) == set(want) == set(case.tolerance):
        raise AssertionError(f"{case.id}: outputs {list(got)}, expected.safetensors {list(want)}, "
                             f"tolerance {list(case.tolerance)}")
    for k, w in want.items():
        if not C.within(got[k], w, case.tolerance[k]):
            raise AssertionError(f"{case.id}: output {k} of the saved folder leaves its tolerance")


def generate(out: Path = DEFAULT_OUT, patterns=(), log=print) -> list:
    """Build every case matching ``patterns`` into ``out`` (replacing it); returns the ids written."""
    todo = selected(patterns)
    if not todo:
        return []
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    ids = []
    try:
        with np.errstate(all="ignore"):
            for entry in todo:
                case = entry.build()
                assert case.id == entry.id, (case.id, entry.id)
                write_case(case, tmp / case.id)
                ids.append(case.id)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return ids


def main(argv=None) -> int:
    """``python -m conformance generate``: write the corpus; returns the exit status (0 ok, 1 no case
    matched). ``argv`` are the arguments after ``generate``."""
    ap = argparse.ArgumentParser(prog="python -m conformance generate",
                                 description="Write the conformance corpus, one folder per case (conformance/FORMAT.md).")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder, replaced whole (default {DEFAULT_OUT})")
    ap.add_argument("-k", dest="patterns", action="append", default=[], metavar="PATTERN",
                    help="only cases whose id contains PATTERN or matches it as a glob (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the ids of the selected cases and write nothing")
    args = ap.parse_args(argv)
    if args.list:
        for e in selected(args.patterns):
            print(e.id)
        return 0
    start = time.perf_counter()
    ids = generate(args.out, args.patterns)
    if not ids:
        print(f"no case matches {args.patterns}", file=sys.stderr)
        return 1
    kinds = {}
    for i in ids:
        kinds[i.split(".", 1)[0]] = kinds.get(i.split(".", 1)[0], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
    print(f"wrote {len(ids)} cases ({summary}) to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
