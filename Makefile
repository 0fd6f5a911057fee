# JAG — top-level commands. `make demo` and `make test` set up everything they need on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JS_STAMP := runtimes/js/node_modules/.installed

.PHONY: demo test test-py test-c test-c-sanitize test-js js c bench check gen clean help conformance

help:
	@echo "make demo   the main job: the digits CNN and MiniLM exported, run with Python, ./jagrun and node run.js (sets up everything)"
	@echo "make test   run every test (creates .venv on first use)"
	@echo "make gen    regenerate spec/OPS.md and spec/ERRORS.md from spec/*.json"
	@echo "make check  fail when generated files are stale"
	@echo "make c      build the C runtime (runtimes/c: libjag.a, libjag.so, ./jagrun)"
	@echo "make js     install the JS runtime's packages (runtimes/js: npm ci)"
	@echo "make bench  benchmarks: the C runtime beside numpy, the JS runtime beside C, training beside PyTorch, MiniLM beside PyTorch and onnxruntime"
	@echo "make conformance  generate the conformance corpus and run it on Python, C and JS"

# The virtualenv, re-installed when the package metadata changes.
# Graphviz's `dot` (pictures of graphs) comes from Debian's graphviz package.
$(STAMP): python/pyproject.toml
	@command -v dot >/dev/null 2>&1 || (apt-get update && apt-get install -y graphviz)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e 'python[test,torch,jax,tf,viz,models,bench]'
	@touch $(STAMP)

# examples/demo.py: its files go to examples/out/demo/ (examples/README.md).
demo: $(STAMP) c $(JS_STAMP)
	$(PY) examples/demo.py

gen: $(STAMP) $(JS_STAMP)
	$(PY) spec/gen.py
	cd runtimes/js && node tools/gen_schema.js

check: $(STAMP) $(JS_STAMP)
	$(PY) spec/gen.py --check
	cd runtimes/js && node tools/gen_schema.js --check

test: check test-c test-js conformance test-py test-c-sanitize

# The JS runtime: Node >= 18 (Debian's nodejs when missing), packages from the lockfile,
# and Chromium for the browser smoke test.
$(JS_STAMP): runtimes/js/package-lock.json
	@command -v node >/dev/null 2>&1 || (apt-get update && apt-get install -y nodejs npm)
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	cd runtimes/js && npm ci --no-audit --no-fund
	@touch $@

js: $(JS_STAMP)

test-js: $(JS_STAMP)
	cd runtimes/js && node --test test/

# The C runtime: C99 + libm; needs a C compiler (installed with apt-get when missing).
CC_OK := $(shell command -v cc >/dev/null 2>&1 && echo yes)
c:
ifneq ($(CC_OK),yes)
	apt-get update && apt-get install -y gcc make
endif
	$(MAKE) -C runtimes/c

test-c: c
	$(MAKE) -C runtimes/c test

test-py: $(STAMP) c $(JS_STAMP)
	$(PY) -m pytest -q python/tests

# The C unit tests, then every C case of the Python suite, under ASan + UBSan.
SAN_PRELOAD = $(shell cc -print-file-name=libasan.so):$(shell cc -print-file-name=libubsan.so)
SAN_ENV = LD_PRELOAD=$(SAN_PRELOAD) ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
          JAG_LIBJAG=runtimes/c/build-san/libjag.so JAG_JAGRUN=runtimes/c/build-san/jagrun-san
test-c-sanitize: $(STAMP)
	$(MAKE) -C runtimes/c sanitize
	@test -d conformance/build/cases || $(PY) -m conformance generate
	$(SAN_ENV) $(PY) -m conformance run -r c --build conformance/build/sanitize
	$(SAN_ENV) $(PY) -m pytest -q -p no:cacheprovider python/tests/test_c_runtime.py

# The conformance corpus (conformance/build/cases, not committed) on every runtime: a matrix,
# conformance/build/report.md, and a failure for any disagreement (conformance/README.md).
conformance: $(STAMP) c $(JS_STAMP)
	$(PY) -m conformance generate && $(PY) -m conformance run

bench: c $(STAMP) $(JS_STAMP)
	$(MAKE) -C runtimes/c bench PYTHON=$(abspath $(PY))
	cd runtimes/js && npm run --silent bench
	$(PY) bench/train_bench.py
	$(PY) bench/minilm_bench.py

clean:
	rm -rf $(VENV) python/*.egg-info .pytest_cache python/.pytest_cache
	$(MAKE) -C runtimes/c clean
	rm -rf runtimes/js/node_modules
