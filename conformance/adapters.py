"""Runtime adapters for the conformance runner: one class per JAG runtime.

An adapter runs case folders (``model.json`` + ``inputs.safetensors``, see FORMAT.md) on
one runtime and reports, per folder, an :class:`Outcome`: the outputs by name, or the
error code the runtime raised. It knows nothing about expected values or tolerances; the
runner (``conformance/run.py``) compares.

Adding a runtime = one subclass here with a ``name``, :meth:`Adapter.missing` (why it
cannot run here, or None) and :meth:`Adapter.start` (begin running a list of folders and
return a :class:`Batch` whose ``outcomes()`` yields one Outcome per folder, in order),
then one line in :data:`ADAPTERS`. In-process runtimes (Python, C) compute lazily in
``outcomes()``; an out-of-process runtime (JS) starts its process in ``start`` so that it
works while the in-process runtimes run on the other core.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import jag

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "runtimes" / "js"
#: a whole JS batch may take at most this long (seconds) before it is killed and its
#: unfinished cases reported as failures
JS_TIMEOUT = float(os.environ.get("JAG_CONFORMANCE_JS_TIMEOUT", 1200))


@dataclass
class Outcome:
    """What one runtime did with one case folder.

    Exactly one of ``outputs`` (output name -> numpy array) and ``error`` (an error code of
    spec/errors.json, or ``"UNCAUGHT"`` for a crash that is not a JAG error) is set;
    ``message`` is the runtime's one-line error message. ``unsupported`` (a reason) marks a
    case the runtime declares it cannot run at all.
    """
    outputs: dict | None = None
    error: str | None = None
    message: str = ""
    unsupported: str | None = None


@dataclass
class Batch:
    """Cases being run on one runtime; ``outcomes()`` yields one Outcome per folder, in order
    (``produce`` makes that iterator; it may wait for a process to finish)."""
    folders: list
    produce: Callable[[], Iterator[Outcome]] = field(repr=False)

    def outcomes(self) -> Iterator[Outcome]:
        return self.produce()


def _error(e: BaseException) -> Outcome:
    """An Outcome for an exception: its JAG code, else UNCAUGHT (a crash of the runtime)."""
    if isinstance(e, jag.JagError):
        return Outcome(error=e.code, message=str(e))
    if isinstance(e, MemoryError):  # the C runtime's OUT_OF_MEMORY status
        return Outcome(error="OUT_OF_MEMORY", message=str(e))
    return Outcome(error="UNCAUGHT", message=f"{type(e).__name__}: {e}")


def read_inputs(folder: Path) -> dict:
    """The case's inputs.safetensors (name -> array); no file means no inputs."""
    path = folder / "inputs.safetensors"
    return jag.load_tensors(path) if path.exists() else {}


class Adapter:
    """A runtime the conformance runner can run cases on (subclass per runtime)."""
    name = "?"
    #: a short description for the report (what is run, how)
    how = ""

    def missing(self) -> str | None:
        """None when the runtime can run here, else why not ("node not found", ...)."""
        return None

    def applies(self, case) -> bool:
        """Whether this runtime takes part in ``case`` (generated framework code does not
        validate files, so error cases are not its business); other cells read "-"."""
        return True

    def start(self, folders: list) -> Batch:
        """Begin running ``folders`` (Paths of case folders); see :class:`Batch`."""
        return Batch(folders, lambda: (self.run_one(Path(f)) for f in folders))

    def run_one(self, folder: Path) -> Outcome:
        raise NotImplementedError

    def run(self, folders: list) -> list:
        """Run ``folders`` and wait: a list of Outcomes in order."""
        return list(self.start(folders).outcomes())


class PythonAdapter(Adapter):
    """The numpy reference: ``jag.load`` (full validation) then ``Graph.run`` on the bundle."""
    name = "python"
    how = "jag.load + Graph.run (the numpy reference interpreter), in-process"

    def run_one(self, folder: Path) -> Outcome:
        try:
            graph = jag.load(folder / "model.json")
            return Outcome(outputs=graph.run(read_inputs(folder)))
        except Exception as e:  # noqa: BLE001 — any crash is a result to report, not a runner failure
            return _error(e)


class CAdapter(Adapter):
    """The C runtime in-process through the cffi binding (python/jag/runtimes/c.py)."""
    name = "c"
    how = "runtimes/c/build/libjag.so through cffi (jag.runtimes.c), in-process"

    def missing(self) -> str | None:
        from jag.runtimes import c
        path = c.library_path()
        if not path.exists():
            return f"{path} is not built (make c)"
        try:
            c._load()
        except Exception as e:  # noqa: BLE001 — e.g. cffi missing, or a library of another architecture
            return f"cannot load {path}: {e}"
        return None

    def run_one(self, folder: Path) -> Outcome:
        from jag.runtimes import c
        path = folder / "model.json"
        try:
            model = c.Model.from_file(path)
            bundle = read_inputs(folder)
            ins, outs = _io_names(path, bundle, model.n_inputs)
            extra = sorted(set(bundle) - set(ins))
            missing = [n for n in ins if n not in bundle]
            if missing or extra:  # what Graph.run and the JS Model.run report for a bundle that does not fit
                raise jag.InputError(f"inputs do not match the graph's ({', '.join(ins)}): missing {missing}, "
                                     f"unknown {extra}")
            arrays = model.run([bundle[n] for n in ins])
            return Outcome(outputs=dict(zip(outs, arrays)))
        except Exception as e:  # noqa: BLE001
            return _error(e)


def _io_names(path: Path, bundle: dict, n_inputs: int) -> tuple:
    """(input names, output names) of a model the C runtime loaded, from its JSON (the C
    binding gives arrays by position). The C loader accepted the file, so it parses."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [v["name"] for v in doc["inputs"]], [v["name"] for v in doc["outputs"]]
    except (ValueError, KeyError, TypeError):  # pragma: no cover — a file C accepted but Python cannot read
        return list(bundle)[:n_inputs], []


class JSAdapter(Adapter):
    """The JS runtime: ONE node process (runtimes/js/tools/run_cases.js) for every case.

    The process starts in :meth:`start` and runs while the in-process runtimes work; its
    results (``<k>.out.bin`` / ``<k>.error.txt`` per case) go to a temporary folder, never
    into the case folders.
    """
    name = "js"
    how = "node runtimes/js/tools/run_cases.js, one process for all cases"

    def missing(self) -> str | None:
        if shutil.which("node") is None:
            return "node not found (make js)"
        if not (JS_DIR / "node_modules").is_dir():
            return "runtimes/js/node_modules missing (make js)"
        return None

    def start(self, folders: list) -> Batch:
        work = Path(tempfile.mkdtemp(prefix="jag-conformance-js-"))
        listing = work / "list.txt"
        listing.write_text("".join(f"{Path(f).resolve() / 'model.json'}\n" for f in folders))
        results = work / "results"
        proc = subprocess.Popen(["node", str(JS_DIR / "tools" / "run_cases.js"), str(listing), str(results)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def outcomes():
            try:
                try:
                    _, stderr = proc.communicate(timeout=JS_TIMEOUT)
                    crash = f"the node process exited with status {proc.returncode}: {stderr.strip()[-2000:]}" \
                        if proc.returncode else None
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    crash = f"the node process was killed after {JS_TIMEOUT:.0f} s"
                for k in range(len(folders)):
                    yield _read_js_result(results, k, crash)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return Batch(folders, outcomes)


def _read_js_result(results: Path, k: int, crash: str | None) -> Outcome:
    """The outcome of the k-th case from run_cases.js's results folder."""
    err = results / f"{k}.error.txt"
    out = results / f"{k}.out.bin"
    if err.exists():
        code, _, message = err.read_text(encoding="utf-8", errors="replace").partition(" ")
        return Outcome(error=code, message=message)
    if out.exists():
        try:
            return Outcome(outputs=jag.load_tensors(out))
        except jag.JagError as e:
            return Outcome(error="UNCAUGHT", message=f"cannot read the JS outputs: {e}")
    return Outcome(error="UNCAUGHT", message=crash or "the node process wrote no result for this case")


#: every runtime, in matrix column order; the first is the reference
class CodegenAdapter(Adapter):
    """Generated framework source (``jag.codegen.<target>``), executed in-process: for each
    case, ``jag.load`` the model, generate the source, exec it, ``build(load_params(model))``
    with the module's own weight loader, and run it on the inputs (converted to the
    framework's tensors, outputs converted back to numpy)."""

    def __init__(self, target: str, module: str, extra: str, to_framework, to_numpy, setup=None):
        self.name, self._module, self._extra = target, module, extra
        self._to_fw, self._to_np, self._setup = to_framework, to_numpy, setup
        self.how = f"graph.to_{target}() source exec'd in-process ({module}; pip install jag[{extra}])"

    def missing(self) -> str | None:
        import importlib.util
        if importlib.util.find_spec(self._module) is None:
            return f"{self._module} is not installed (pip install 'jag[{self._extra}]'; make test installs it)"
        from jag import codegen
        try:
            codegen.target_module(self.name)
        except ValueError:
            return f"jag.codegen.{self.name} does not exist"
        return None

    def applies(self, case) -> bool:
        return case.kind != "error"

    def prepare(self, folder: Path) -> tuple:
        """(fn, framework inputs, output names) of one case: the generated module built with
        its own ``load_params``; raises what generating or loading raises."""
        from jag.codegen import generate
        if self._setup:
            self._setup()
            self._setup = None
        path = folder / "model.json"
        graph = jag.load(path)
        bundle = read_inputs(folder)
        names = [vi.name for vi in graph.inputs]
        if sorted(bundle) != sorted(names):   # as Graph.run reports a bundle that does not fit
            raise jag.InputError(f"inputs do not match the graph's ({', '.join(names)}): got {', '.join(bundle)}")
        source = generate(graph, self.name)
        ns: dict = {}
        exec(compile(source, f"<{self.name} code of {folder.name}>", "exec"), ns)  # noqa: S102 — our own output
        fn = ns["build"](ns["load_params"](str(path)))
        return fn, [self._to_fw(bundle[n]) for n in ns["INPUTS"]], ns["OUTPUTS"]

    def run_one(self, folder: Path) -> Outcome:
        try:
            fn, args, names = self.prepare(folder)
            return Outcome(outputs={n: self._to_np(o) for n, o in zip(names, fn(*args))})
        except NotImplementedError as e:
            return Outcome(unsupported=str(e))
        except Exception as e:  # noqa: BLE001
            return _error(e)


class JaxAdapter(CodegenAdapter):
    """The JAX target, run as ``jax.jit``: eager JAX dispatches (and compiles) every primitive
    of every case on its own, about 8 minutes for the corpus. Here the generated functions of
    up to :attr:`BATCH` consecutive cases (ids sorted, so mostly one op) are traced into ONE
    jitted program; XLA compiles the next batches on a thread pool while a batch runs. A batch
    that fails to trace, compile or run is re-run case by case eagerly (:meth:`run_one`), so an
    error is reported for its own case. Compiled programs are cached in
    ``conformance/build/jax-cache`` (JAX's persistent cache: a re-run skips XLA)."""
    BATCH = 40

    def __init__(self):
        super().__init__("jax", "jax", "jax", _jax_in, _np_out)
        self.how = ("graph.to_jax() source exec'd in-process, batches of cases under one jax.jit "
                    "(pip install jag[jax])")

    def start(self, folders: list) -> Batch:
        return Batch(folders, lambda: self._outcomes([Path(f) for f in folders]))

    def _outcomes(self, folders: list) -> Iterator[Outcome]:
        import collections
        from concurrent.futures import ThreadPoolExecutor

        import jax
        try:
            jax.config.update("jax_compilation_cache_dir", str(ROOT / "conformance" / "build" / "jax-cache"))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        except Exception:  # noqa: BLE001 — a jax without these options: no cache, just slower
            pass
        chunks = [folders[i:i + self.BATCH] for i in range(0, len(folders), self.BATCH)]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            pending = collections.deque()
            for chunk in chunks:
                pending.append((chunk, self._lower(chunk, pool)))
                if len(pending) > 2:
                    yield from self._finish(*pending.popleft())
            while pending:
                yield from self._finish(*pending.popleft())

    def _lower(self, chunk: list, pool):
        """The runs [(index in chunk, fn, args, output names)] of the cases that build (run_one
        later gives the others their outcome), and (future of the compiled batch, its
        arguments), or None when the batch does not lower."""
        import jax
        runs = []
        for k, folder in enumerate(chunk):
            try:
                runs.append((k, *self.prepare(folder)))
            except Exception:  # noqa: BLE001 — run_one reports it for this case
                pass
        if not runs:
            return runs, None
        fns = [fn for _, fn, _, _ in runs]

        def all_of(all_args):
            return [f(*a) for f, a in zip(fns, all_args)]
        try:
            args = jax.device_put([a for _, _, a, _ in runs])
            lowered = jax.jit(all_of).lower(args)
        except Exception:  # noqa: BLE001
            return runs, None
        return runs, (pool.submit(lowered.compile), args)

    def _finish(self, chunk: list, lowered) -> Iterator[Outcome]:
        runs, compiled = lowered
        results = {}
        if compiled is not None:
            future, args = compiled
            try:
                outs = future.result()(args)
                for (k, _, _, names), o in zip(runs, outs):
                    results[k] = Outcome(outputs={n: self._to_np(v) for n, v in zip(names, o)})
            except Exception:  # noqa: BLE001 — every case of the batch again, eagerly
                results = {}
        for k, folder in enumerate(chunk):
            yield results[k] if k in results else self.run_one(folder)


def _torch_in(a):
    import numpy as np
    import torch
    return torch.from_numpy(np.array(a, copy=True))


def _torch_out(t):
    return t.detach().cpu().numpy()


def _jax_in(a):
    import jax.numpy as jnp
    return jnp.asarray(a)


def _np_out(t):
    import numpy as np
    return np.asarray(t)


def _tf_setup():
    import tensorflow as tf
    tf.config.run_functions_eagerly(True)   # the same code, without a tf.function trace per case


def _tf_in(a):
    import tensorflow as tf
    return tf.constant(a)


def _tf_out(t):
    return t.numpy()


#: the runtimes `python -m conformance run` (and make test) uses without -r
DEFAULT_RUNTIMES = ("python", "c", "js", "torch", "jax", "tf")

ADAPTERS = {a.name: a for a in (
    PythonAdapter(), CAdapter(), JSAdapter(),
    CodegenAdapter("torch", "torch", "torch", _torch_in, _torch_out),
    JaxAdapter(),
    CodegenAdapter("tf", "tensorflow", "tf", _tf_in, _tf_out, _tf_setup),
)}

