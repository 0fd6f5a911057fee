"""Reading and writing JAG files (spec/README.md, 'File format') and safetensors bundles.

``save`` writes model.json plus, for tensors larger than ``inline_limit`` bytes, sidecar
files ``<stem>.bin`` (``<stem>.1.bin``… past 2 GiB) with every tensor at a 64-byte aligned
offset and a SHA-256 per file. All writes are atomic: every file is first written in full
to a temporary file in the same folder and flushed, then all are renamed over their
targets, sidecars first, so a reader never sees a half-written file and a failed save
leaves the previous model as it was.

``load`` checks, in order: the file can be read (E_FILE); it is JSON (E_JSON, with line
and column); format and version (E_VERSION); the JSON Schema (E_SCHEMA, all violations);
sidecar paths (E_PATH); tensor bytes, sizes and hashes (E_TENSOR_DATA); then the graph's
semantics (:mod:`jag.validate`), reporting all problems at once.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from . import pytree, spec
from .errors import (FileError, JSONFormatError, PathError, SchemaError, ShapeError, TensorDataError, VersionError,
                     raise_collected)
from .graph import Graph, Node, ValueInfo, attr_to_json
from .symbolic import parse, to_json

INLINE_LIMIT = 4096          # bytes; larger tensors go to a sidecar file
ALIGN = 64                   # sidecar offsets are multiples of this
SIDECAR_MAX = 2 ** 31        # at most 2 GiB per sidecar file
_MAX_EXACT = 2 ** 53         # larger counts are written as decimal strings

#: Upgrade functions, keyed by the (MAJOR, MINOR) they upgrade *from*; each returns a
#: document of the next MINOR. Format 1.0 is the first release, so the table is empty;
#: see spec/README.md, 'Versioning'.
UPGRADES: dict = {}


# ---------------------------------------------------------------- writing

def _count(n: int):
    return n if n < _MAX_EXACT else str(n)


def _tensor_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, order="C")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return arr.tobytes(order="C")


def tensor_entry(name: str, arr) -> dict:
    """A tensor in the inline form of the file format: {name, dtype, shape, base64}."""
    arr = np.asarray(arr)
    return {"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape),
            "base64": base64.b64encode(_tensor_bytes(arr)).decode("ascii")}


def to_document(graph: Graph, *, inline_all=True, with_data=True) -> dict:
    """The graph as a JSON-ready dict (tensors inline; ``with_data=False`` leaves them empty)."""
    doc = {"format": spec.FORMAT_NAME, "version": spec.FORMAT_VERSION_STR, "opset": graph.opset}
    if graph.name:
        doc["name"] = graph.name
    if graph.doc:
        doc["doc"] = graph.doc
    doc["producer"] = dict(graph.producer)
    if graph.dims:
        doc["dims"] = {k: dict(v) for k, v in graph.dims.items()}

    def vinfo(v):
        d = {"name": v.name, "dtype": v.dtype, "shape": [to_json(x) for x in v.shape]}
        if v.doc:
            d["doc"] = v.doc
        return d

    doc["inputs"] = [vinfo(v) for v in graph.inputs]
    doc["outputs"] = [vinfo(v) for v in graph.outputs]
    doc["tensors"] = [tensor_entry(name, arr) if with_data else
                      {"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape), "base64": ""}
                      for name, arr in graph.tensors.items()]
    nodes = []
    for n in graph.nodes:
        d = {"op": n.op}
        if n.name:
            d["name"] = n.name
        d["inputs"] = list(n.inputs)
        d["outputs"] = list(n.outputs)
        attrs = {k: attr_to_json(v) for k, v in n.attrs.items() if v is not None}
        if attrs:
            d["attrs"] = attrs
        if n.doc:
            d["doc"] = n.doc
        nodes.append(d)
    doc["nodes"] = nodes
    if graph.metadata:
        doc["metadata"] = graph.metadata
    return doc


def dumps(doc: dict) -> str:
    """JSON text with one list item (input, tensor, node…) per line, for readable diffs."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n    ".join(json.dumps(v, separators=(", ", ": "), allow_nan=False, ensure_ascii=False) for v in value)
            text = "[\n    " + items + "\n  ]"
        else:
            text = json.dumps(value, separators=(", ", ": "), allow_nan=False, ensure_ascii=False)
        lines.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _unlink(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _write_temp(path: Path, chunks) -> tuple:
    """Write byte chunks to a new temp file beside ``path``, flushed to disk; returns (temp path, SHA-256 hex)."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; saved models get ordinary file permissions
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                digest.update(chunk)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp, digest.hexdigest()


def atomic_write(path: Path, chunks) -> str:
    """Write byte chunks to ``path`` via a temp file + rename; returns the SHA-256 hex digest."""
    path = Path(path)
    tmp, sha = _write_temp(path, chunks)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    return sha


def save(graph: Graph, path, *, inline_limit: int = INLINE_LIMIT):
    """Write ``graph`` to ``path`` (model.json) and its sidecar files, atomically.

    Tensors of at most ``inline_limit`` bytes are inlined (base64); the rest are packed
    into ``<stem>.bin`` at 64-byte aligned offsets (a new ``<stem>.K.bin`` file starts
    before one would pass 2 GiB). Raises FileError when the folder is not writable.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileError(f"cannot write '{path}': folder '{path.parent}' does not exist", file=path)
    doc = to_document(graph, inline_all=True, with_data=False)
    files: list = []  # [name, [chunks], size]
    for entry, arr in zip(doc["tensors"], graph.tensors.values()):
        raw = _tensor_bytes(arr)
        if len(raw) <= inline_limit:
            entry["base64"] = base64.b64encode(raw).decode("ascii")
            continue
        del entry["base64"]
        if len(raw) > SIDECAR_MAX:
            raise TensorDataError(f"tensor '{entry['name']}' has {len(raw)} bytes; format {spec.FORMAT_VERSION_STR} stores "
                                  f"at most {SIDECAR_MAX} bytes (2 GiB) per sidecar file", file=path)
        if not files or files[-1][2] + (-files[-1][2] % ALIGN) + len(raw) > SIDECAR_MAX:
            k = len(files)
            files.append([f"{path.stem}.bin" if k == 0 else f"{path.stem}.{k}.bin", [], 0])
        sidecar = files[-1]
        pad = -sidecar[2] % ALIGN
        if pad:
            sidecar[1].append(b"\0" * pad)
        offset = sidecar[2] + pad
        sidecar[1].append(raw)
        sidecar[2] = offset + len(raw)
        entry.update(file=sidecar[0], offset=_count(offset), nbytes=_count(len(raw)))
    # Every file is written in full to a temp file first; only then are they renamed over their targets,
    # sidecars first and model.json last. A failure before that leaves the previous model untouched.
    temps = []  # (temp path, target)
    try:
        if files:
            entries = []
            for name, chunks, size in files:
                try:
                    tmp, sha = _write_temp(path.parent / name, chunks)
                except OSError as e:
                    raise FileError(f"cannot write sidecar '{name}': {e.strerror or e}", file=path) from None
                temps.append((tmp, path.parent / name))
                entries.append({"path": name, "nbytes": size, "sha256": sha})
            keys = list(doc)
            doc["files"] = entries
            # keep 'files' before 'nodes' for readability
            doc = {k: doc[k] for k in keys[:keys.index("nodes")] + ["files"] + keys[keys.index("nodes"):]}
        try:
            tmp, _ = _write_temp(path, [dumps(doc).encode("utf-8")])
            temps.append((tmp, path))
            for tmp, target in temps:
                os.replace(tmp, target)
        except OSError as e:
            raise FileError(f"cannot write '{path}': {e.strerror or e}", file=path) from None
    finally:
        for tmp, _ in temps:  # the ones not renamed
            if os.path.lexists(tmp):
                _unlink(tmp)


# ---------------------------------------------------------------- reading

_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
# An escaped backslash (skipped), or a \u escape of U+0000 or of a surrogate (a high one
# possibly followed by its low half): what spec/README.md §2 forbids in strings.
_SPECIAL_ESCAPE = re.compile(r'\\\\|\\u(0000|[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[dD][c-fC-F][0-9a-fA-F]{2})')


def _where(text: str, pos: int) -> str:
    """'line L, column C' of a character offset (both 1-based, as json.JSONDecodeError)."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


def _parse_json(text: str, file):
    def no_duplicates(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise JSONFormatError(f"duplicate key '{k}' in one object", file=file)
            out[k] = v
        return out

    def no_constants(name):
        # json reports no position here: find the first such literal outside strings (the one parsed first)
        m = next((m for m in _STRING_OR_CONSTANT.finditer(text) if m.group(1) == name), None)
        where = f"{_where(text, m.start(1))}: " if m else ""
        raise JSONFormatError(f"{where}'{name}' is not valid JSON (write non-finite floats as the strings \"inf\", "
                              "\"-inf\", \"nan\")", file=file)

    if not text.strip():
        raise JSONFormatError("line 1, column 1: the file is empty", file=file)
    try:
        doc = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
        if "\\u" in text:
            for m in _SPECIAL_ESCAPE.finditer(text):
                esc = m.group(1)
                if esc is None or len(esc) == 10:       # an escaped backslash, or a surrogate pair
                    continue
                what = "\\u0000 (NUL)" if esc == "0000" else f"the unpaired surrogate \\u{esc}"
                raise JSONFormatError(f"{_where(text, m.start())}: {what} is not allowed in strings", file=file)
        return doc
    except JSONFormatError:
        raise
    except json.JSONDecodeError as e:
        reason = e.msg + (" (the file may be truncated)" if e.pos >= len(text.rstrip()) else "")
        raise JSONFormatError(f"line {e.lineno}, column {e.colno}: {reason}", file=file) from None
    except RecursionError:
        raise JSONFormatError("arrays or objects are nested too deeply", file=file) from None
    except ValueError as e:
        raise JSONFormatError(str(e), file=file) from None


def check_version(doc: dict, file=None):
    """E_VERSION unless the document's MAJOR matches and its MINOR and opset are not newer than ours."""
    version, opset = doc.get("version"), doc.get("opset")
    if not isinstance(version, str) or len(version.split(".")) != 2 or not all(p.isdigit() for p in version.split(".")):
        raise SchemaError(f"'version' must be a \"MAJOR.MINOR\" string, got {version!r}", file=file, field="/version")
    major, minor = (int(p) for p in version.split("."))
    ours = spec.FORMAT_VERSION
    if major != ours[0] or minor > ours[1]:
        advice = ("upgrade jag to a release that reads it" if (major, minor) > ours else
                  "convert it with the jag release that wrote it, or an older jag")
        raise VersionError(f"file has format version {version}; this reader supports {ours[0]}.0 to {ours[0]}.{ours[1]}: "
                           f"{advice}", file=file, field="/version")
    if isinstance(opset, int) and not isinstance(opset, bool) and opset > spec.OPSET:
        raise VersionError(f"file uses opset {opset}; this reader implements opset {spec.OPSET}: upgrade jag",
                           file=file, field="/opset")
    return major, minor


def upgrade(doc: dict) -> dict:
    """Bring an older MINOR version up to this reader's version through ``UPGRADES``."""
    version = tuple(int(p) for p in doc["version"].split("."))
    while version < spec.FORMAT_VERSION:
        step = UPGRADES.get(version)
        if step is None:  # additive minor versions need no rewrite
            version = (version[0], version[1] + 1)
            continue
        doc = step(doc)
        version = tuple(int(p) for p in doc["version"].split("."))
    doc["version"] = spec.FORMAT_VERSION_STR
    return doc


def validate_document(doc, file=None) -> list:
    """Every JSON Schema violation of ``doc`` as SchemaErrors (field = JSON pointer)."""
    import jsonschema
    validator = jsonschema.Draft202012Validator(spec.SCHEMA)
    errors = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        pointer = "/" + "/".join(str(p) for p in e.absolute_path)
        msg = e.message if len(e.message) <= 200 else e.message[:200] + "…"
        errors.append(SchemaError(f"at {pointer}: {msg}", file=file, field=pointer))
    return errors


def check_sidecar_path(name: str, folder: Path, file=None) -> Path:
    """The sidecar's path inside ``folder``; PathError for absolute paths, separators, '..' or escaping symlinks."""
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        raise PathError(f"sidecar path '{name.encode('unicode_escape').decode('ascii')}' contains a control character",
                        file=file, field="file")
    p = Path(name)
    if (not name or p.is_absolute() or "/" in name or "\\" in name or name in (".", "..") or ".." in p.parts
            or name.startswith(".") or ":" in name):
        raise PathError(f"sidecar path '{name}' must be a plain file name beside the model (no separators, no '..', "
                        "not absolute)", file=file, field="file")
    full = folder / name
    try:
        if full.exists() and full.resolve().parent != folder.resolve():
            raise PathError(f"sidecar path '{name}' resolves outside the model's folder (a symlink?)", file=file, field="file")
    except OSError as e:
        raise FileError(f"cannot read sidecar '{name}': {e.strerror or e}", file=file) from None
    return full


def _as_int(v) -> int:
    return int(v) if isinstance(v, str) else v


def _read_tensors(doc, folder: Path, file) -> tuple:
    """Decode every tensor entry; returns (dict name -> array, list of errors)."""
    errors, out, blobs = [], {}, {}
    declared, failed = {}, set()  # failed: sidecars already reported, so their tensors are not reported again
    for k, f in enumerate(doc.get("files", [])):
        try:
            if _as_int(f["nbytes"]) > SIDECAR_MAX:
                raise TensorDataError(f"sidecar '{f['path']}' declares {f['nbytes']} bytes; at most {SIDECAR_MAX} "
                                      "(2 GiB) are allowed per sidecar file", file=file, field=f"/files/{k}/nbytes")
            declared[f["path"]] = (check_sidecar_path(f["path"], folder, file), _as_int(f["nbytes"]), f["sha256"])
        except (PathError, FileError, TensorDataError) as e:
            errors.append(e.with_context(field=f"/files/{k}/path"))
            failed.add(f["path"])

    def blob(name):
        if name not in blobs:
            full, nbytes, sha = declared[name]
            failed.add(name)
            try:
                data = full.read_bytes()
            except FileNotFoundError:
                raise FileError(f"sidecar '{name}' is missing (expected beside the model)", file=file) from None
            except OSError as e:
                raise FileError(f"cannot read sidecar '{name}': {e.strerror or e}", file=file) from None
            if len(data) != nbytes:
                raise TensorDataError(f"sidecar '{name}' has {len(data)} bytes; the model says {nbytes} (truncated or "
                                      "replaced?)", file=file)
            digest = hashlib.sha256(data).hexdigest()
            if digest != sha:
                raise TensorDataError(f"sidecar '{name}' has SHA-256 {digest}; the model says {sha}", file=file)
            failed.discard(name)
            blobs[name] = data
        return blobs[name]

    for i, t in enumerate(doc.get("tensors", [])):
        name, dtype, shape = t["name"], t["dtype"], t["shape"]
        field = f"/tensors/{i}"
        try:
            count = 1
            for d in shape:
                count *= d
            if count > 2 ** 63 - 1:
                raise ShapeError(f"tensor '{name}' has shape {shape}, whose element count overflows int64", field=field)
            need = count * spec.ITEMSIZE[dtype]
            if "base64" in t:
                try:
                    raw = base64.b64decode(t["base64"], validate=True)
                except (binascii.Error, ValueError) as e:
                    raise TensorDataError(f"tensor '{name}': bad base64 ({e})", field=field) from None
            else:
                fname = t["file"]
                if fname in failed:
                    continue
                if fname not in declared:
                    failed.add(fname)
                    check_sidecar_path(fname, folder, file)
                    raise TensorDataError(f"tensor '{name}' refers to sidecar '{fname}', which 'files' does not list "
                                          "(its SHA-256 is required)", field=field)
                offset, nbytes = _as_int(t["offset"]), _as_int(t["nbytes"])
                if offset % ALIGN:
                    raise TensorDataError(f"tensor '{name}' is at offset {offset}, not a multiple of {ALIGN}", field=field)
                data = blob(fname)
                if offset + nbytes > len(data):
                    raise TensorDataError(f"tensor '{name}' spans bytes {offset}..{offset + nbytes} but sidecar '{fname}' "
                                          f"has {len(data)} bytes", field=field)
                raw = memoryview(data)[offset:offset + nbytes]
            if len(raw) != need:
                raise TensorDataError(f"tensor '{name}' has {len(raw)} bytes; {dtype} × {shape} needs {need}", field=field)
            arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"), count=count).reshape(shape)
            if dtype == "bool" and arr.size and np.frombuffer(raw, dtype=np.uint8).max() > 1:
                raise TensorDataError(f"tensor '{name}' is bool but holds bytes other than 0 and 1", field=field)
            out[name] = arr.astype(np.dtype(dtype), copy=False)
        except (TensorDataError, ShapeError, FileError, PathError) as e:
            errors.append(e.with_context(file=file))
    return out, errors


def check_pytree_metadata(doc: dict, file=None) -> list:
    """SchemaErrors for a malformed ``metadata["jag.pytree"]`` (the reserved key that gives a graph's
    input and output structure), or one whose leaf count differs from the graph's inputs / outputs."""
    if "jag.pytree" not in doc.get("metadata", {}):
        return []
    meta = doc["metadata"]["jag.pytree"]
    if not isinstance(meta, dict):
        return [SchemaError("at /metadata/jag.pytree: expected an object with 'inputs' and 'outputs' structures",
                            file=file, field="/metadata/jag.pytree")]

    def leaves(td):
        if td == pytree.LEAF:
            return 1
        if td == ["none"]:
            return 0
        if isinstance(td, list) and len(td) == 2 and isinstance(td[1], list):
            if td[0] in ("list", "tuple"):
                return sum(leaves(c) for c in td[1])
            if td[0] == "dict" and all(isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], str) for kv in td[1]):
                return sum(leaves(c) for _, c in td[1])
        raise ValueError(f"{json.dumps(td)[:60]} is not a structure ('*', [\"list\"|\"tuple\", [...]], "
                         "[\"dict\", [[key, ...], ...]] or [\"none\"])")

    errors = []
    for key in ("inputs", "outputs"):
        if key not in meta:
            continue
        pointer = f"/metadata/jag.pytree/{key}"
        try:
            n = leaves(meta[key])
        except ValueError as e:
            errors.append(SchemaError(f"at {pointer}: {e}", file=file, field=pointer))
            continue
        except RecursionError:
            errors.append(SchemaError(f"at {pointer}: the structure is nested too deeply", file=file, field=pointer))
            continue
        if n != len(doc[key]):
            errors.append(SchemaError(f"at {pointer}: the structure has {n} leaves but the graph has {len(doc[key])} "
                                      f"{key}", file=file, field=pointer))
    return errors


def check_stored_tensors(path) -> list:
    """Re-read a saved model's tensors — base64, sidecar paths, sizes, bounds, SHA-256 — and return the problems."""
    path = Path(path)
    try:
        data = read_file(path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return [JSONFormatError("the file is no longer UTF-8 text", file=path)]
        doc = _parse_json(text, path)
    except (FileError, JSONFormatError) as e:
        return [e]
    problems = validate_document(doc, str(path))
    return problems or _read_tensors(doc, path.parent, str(path))[1]


def from_document(doc: dict, *, file=None, folder: Path | None = None) -> Graph:
    """Build a Graph from a parsed document (version, schema and data checked; semantics checked too)."""
    if not isinstance(doc, dict):
        raise SchemaError(f"the top level must be a JSON object, got {type(doc).__name__}", file=file, field="/")
    if doc.get("format") != spec.FORMAT_NAME:
        raise SchemaError(f"'format' must be \"jag\", got {doc.get('format')!r}: this is not a JAG model", file=file,
                          field="/format")
    check_version(doc, file)
    doc = upgrade(doc)
    raise_collected(validate_document(doc, file) or check_pytree_metadata(doc, file))
    errors = []

    def dims_of(shape, field):
        out = []
        for d in shape:
            try:
                dim = parse(d)
                if isinstance(dim, int) and dim < 0:  # the schema admits "-1" and "2-5" as expressions
                    raise ShapeError(f"dim '{d}' is the negative constant {dim}")
                out.append(dim)
            except ShapeError as e:
                errors.append(e.with_context(file=file, field=field))
                out.append(0)
        return tuple(out)

    inputs = [ValueInfo(v["name"], v["dtype"], dims_of(v["shape"], f"/inputs/{i}/shape"), v.get("doc"))
              for i, v in enumerate(doc["inputs"])]
    outputs = [ValueInfo(v["name"], v["dtype"], dims_of(v["shape"], f"/outputs/{i}/shape"), v.get("doc"))
               for i, v in enumerate(doc["outputs"])]
    tensors, tensor_errors = _read_tensors(doc, folder or Path("."), file)
    errors += tensor_errors
    nodes = [Node(n["op"], list(n["inputs"]), list(n["outputs"]), dict(n.get("attrs", {})), n.get("name"), n.get("doc"))
             for n in doc["nodes"]]
    raise_collected(errors)
    graph = Graph(inputs=inputs, outputs=outputs, nodes=nodes, tensors=tensors, name=doc.get("name", ""),
                  doc=doc.get("doc", ""), dims=doc.get("dims"), metadata=doc.get("metadata"), producer=doc.get("producer"),
                  opset=doc["opset"], version=doc["version"], source=file)
    raise_collected(graph.problems())
    return graph


def read_file(path: Path) -> bytes:
    """The bytes of ``path``; FileError (E_FILE) when it is missing, a folder or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileError(f"cannot read '{path}': no such file", file=path) from None
    except IsADirectoryError:
        raise FileError(f"cannot read '{path}': it is a folder", file=path) from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise FileError(f"cannot read '{path}': {getattr(e, 'strerror', None) or e}", file=path) from None


def load(path) -> Graph:
    """Load and fully validate a JAG model file (see the module docstring for the checks and errors)."""
    path = Path(path)
    data = read_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise JSONFormatError(f"line {line}, column {column}: the file is not UTF-8 text (byte 0x{data[e.start]:02x})",
                              file=path) from None
    return from_document(_parse_json(text, path), file=str(path), folder=path.parent)


def loads(text: str, *, folder=None) -> Graph:
    """Load a model from JSON text (sidecars, if any, are looked up in ``folder``)."""
    return from_document(_parse_json(text, None), folder=Path(folder) if folder else None)


# ---------------------------------------------------------------- safetensors bundles

def save_tensors(path, tensors: dict):
    """Write a dict name -> array as a safetensors file (inputs, outputs, test data), atomically."""
    from safetensors.numpy import save as st_save
    arrays = {}
    for k, v in tensors.items():
        arr = np.asarray(v, order="C")
        spec.dtype_name(arr.dtype)  # DTypeError for unsupported dtypes
        arrays[k] = arr
    path = Path(path)
    try:
        atomic_write(path, [st_save(arrays)])
    except OSError as e:
        raise FileError(f"cannot write '{path}': {e.strerror or e}", file=path) from None


def load_tensors(path) -> dict:
    """Read a safetensors file into a dict name -> numpy array (E_FILE / E_TENSOR_DATA on failure)."""
    from safetensors.numpy import load as st_load
    path = Path(path)
    data = read_file(path)
    try:
        arrays = st_load(data)
    except Exception as e:  # safetensors raises SafetensorError / ValueError on malformed input
        raise TensorDataError(f"'{path}' is not a valid safetensors file: {e}", file=path) from None
    for k, v in arrays.items():
        if v.dtype.name not in spec.DTYPES:
            raise TensorDataError(f"tensor '{k}' in '{path}' has dtype {v.dtype.name}, which JAG does not support",
                                  file=path)
    return arrays
