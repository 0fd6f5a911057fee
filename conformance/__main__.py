"""``python -m conformance generate ...`` builds the corpus (conformance/generate.py);
``python -m conformance run ...`` runs it on every runtime (conformance/run.py).
See conformance/README.md."""
import sys

USAGE = """usage: python -m conformance {generate,run} [options]
  generate   build the case corpus into conformance/build/cases/ (deterministic)
  run        run every case on every runtime and print the matrix
Use `python -m conformance COMMAND --help` for the options of each."""


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "generate":
        from . import generate
        return generate.main(rest) or 0
    if command == "run":
        from . import run
        return run.main(rest)
    print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
