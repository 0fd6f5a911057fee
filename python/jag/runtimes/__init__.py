"""Other runtimes driven from Python: ``jag.runtimes.c`` runs a graph on the C runtime
(runtimes/c, libjag.so) in-process through cffi. ``graph.execute(*args, backend="c")``
uses it."""
from . import c  # noqa: E402,F401
