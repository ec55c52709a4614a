# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SEED   ?= 42
PROFILE ?= profiles/default.toml

.PHONY: run test test-fast lint typecheck bench bench-backends venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/simcore run --seed $(SEED) $(PROFILE)
	@echo "simcore is installed in $(VENV): run '. $(VENV)/bin/activate' for the README's tour (or use $(BIN)/simcore)"

lint: $(STAMP)
	$(BIN)/ruff check src backends tests benchmarks examples
	$(BIN)/ruff format --check src backends tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

test-fast: $(STAMP)  # the inner loop: every test not marked slow, no lint or type check
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)  # the core as issue 2 set it (--plain), then with every community behaviour on
	$(BIN)/python benchmarks/bench_core.py --plain
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_sinks.py

bench-backends: $(STAMP)  # needs nginx (apt-get install -y nginx; wrk optional)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_backends.py
	$(BIN)/python benchmarks/bench_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache .hypothesis
