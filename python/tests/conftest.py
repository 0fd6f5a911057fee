"""pytest configuration for python/tests.

The repository root goes on sys.path so that the tests can ``import conformance`` (the
conformance corpus and its tables of bad models, conformance/error_cases.py, live at the
root beside python/, not inside the jag package)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
