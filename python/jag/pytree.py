"""Minimal pytrees: nested dicts, lists and tuples of leaves (as jax.tree_util, JSON-serialisable).

A treedef is JSON: ``"*"`` for a leaf, ``["list", [...]]``, ``["tuple", [...]]``,
``["dict", [[key, child], ...]]`` (insertion order kept), ``["none"]`` for None.
Graphs store their input and output treedefs in ``metadata["jag.pytree"]`` so a loaded
graph takes and returns the same nested structures.
"""
from __future__ import annotations

LEAF = "*"


def flatten(tree, path=""):
    """-> (leaves, paths, treedef). Paths name leaves as 'params.w1', 'xs.0'."""
    leaves, paths = [], []

    def walk(node, p):
        if isinstance(node, dict):
            items = []
            for k, v in node.items():
                if not isinstance(k, str):
                    raise TypeError(f"pytree dict keys must be strings, got {k!r} at '{p}'")
                items.append([k, walk(v, f"{p}.{k}" if p else k)])
            return ["dict", items]
        if isinstance(node, (list, tuple)):
            kind = "tuple" if isinstance(node, tuple) else "list"
            return [kind, [walk(v, f"{p}.{i}" if p else str(i)) for i, v in enumerate(node)]]
        if node is None:
            return ["none"]
        leaves.append(node)
        paths.append(p)
        return LEAF

    treedef = walk(tree, path)
    return leaves, paths, treedef


def unflatten(treedef, leaves):
    """Inverse of :func:`flatten`."""
    it = iter(leaves)

    def build(td):
        if td == LEAF:
            return next(it)
        kind = td[0]
        if kind == "dict":
            return {k: build(c) for k, c in td[1]}
        if kind == "list":
            return [build(c) for c in td[1]]
        if kind == "tuple":
            return tuple(build(c) for c in td[1])
        return None

    out = build(treedef)
    return out


def num_leaves(treedef) -> int:
    if treedef == LEAF:
        return 1
    if treedef[0] == "dict":
        return sum(num_leaves(c) for _, c in treedef[1])
    if treedef[0] in ("list", "tuple"):
        return sum(num_leaves(c) for c in treedef[1])
    return 0
