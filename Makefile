# Everything runs from .venv, which `make install` builds from the lock file (uv.lock).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: install run test lint schema bench clean

$(BIN)/kehoach: pyproject.toml uv.lock
	test -x $(UV) || ($(PY) -m venv $(VENV) && $(BIN)/pip install --quiet "uv==0.13.9")
	$(UV) sync --frozen --quiet --compile-bytecode
	# Precompiled bytecode keeps `kehoach validate` fast even where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/python -m compileall -q engine cli notifications tasks flows
	touch $@

install: $(BIN)/kehoach

# Until the embedded stack lands, `run` validates the shipped plan and prints this year's calendar.
run: install
	$(BIN)/kehoach validate
	$(BIN)/kehoach plan --from $$(date +%Y)-01-01 --to $$(date +%Y)-12-31

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: install
	$(BIN)/python benchmarks/run_all.py

schema: install
	$(BIN)/kehoach schema

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
