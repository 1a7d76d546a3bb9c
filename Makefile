# Everything runs from .venv, which `make install` builds from the lock file (uv.lock).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: golden install system-deps run test lint schema bench clean

# Debian packages the browser, document and mail-intake tests use; without them those tests skip.
SYSTEM_PACKAGES := chromium chromium-driver libreoffice-writer-nogui poppler-utils fonts-liberation2 \
	dovecot-imapd

$(BIN)/kehoach: pyproject.toml uv.lock
	test -x $(UV) || ($(PY) -m venv $(VENV) && $(BIN)/pip install --quiet "uv==0.13.9")
	$(UV) sync --frozen --quiet --compile-bytecode
	# Precompiled bytecode keeps `kehoach validate` fast even where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/python -m compileall -q engine cli notifications tasks flows portal reports
	touch $@

install: $(BIN)/kehoach

# The whole stack on this machine (`kehoach up`): a local Prefect server (SQLite under
# var/prefect/), one served deployment per obligation, the portal and the mail sink. Ctrl-C stops
# every part; running it again resumes with the same data. Ports: see docs/operations.md.
run: install
	$(BIN)/kehoach db upgrade
	exec $(BIN)/kehoach up

# Installs what is missing when we can (root with apt-get); otherwise says what is missing.
system-deps:
	@missing=""; export PATH="$$PATH:/usr/sbin"; \
	for tool in chromium soffice pdftoppm dovecot; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian packages for browser, document and intake tests:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else \
		echo "Missing$$missing: the tests that need them will be skipped (apt-get install $(SYSTEM_PACKAGES))"; \
	fi

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/kehoach deployments sync --check
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/kehoach deployments sync --check

bench: install
	$(BIN)/python benchmarks/run_all.py

schema: install
	$(BIN)/kehoach schema

# Rewrites tests/golden/letters/ from a simulated 2026 after an intended wording change.
golden: install
	KEHOACH_UPDATE_GOLDEN=1 $(BIN)/pytest tests/simulate/test_letters.py -q

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
