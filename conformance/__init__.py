"""JAG conformance: a corpus of cases (op, lowered, symbolic, model and error cases) that every
runtime must agree on, generated from spec/ops.json and the Python reference
(``python -m conformance generate``), and a runner that checks every runtime against it
(``python -m conformance run``). The case folder format is in conformance/FORMAT.md."""
