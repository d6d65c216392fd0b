# One task runner: the README, CI and people all use these targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8501

.PHONY: setup run test test-fast lint typecheck bench browser examples clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[app,dev,ray]'
	@touch $(STAMP)

setup: $(STAMP)  ## create or update .venv from pyproject.toml

run: setup  ## start the chat lab on http://$(HOST):$(PORT)
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT)

browser:  ## install Debian's Chromium for the browser test when it is missing
	@bash scripts/ensure-chromium.sh

test: setup browser  ## the whole offline test suite
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken"; exit 1; fi; exit $$rc

test-fast: setup  ## the edit-test loop: every test not marked slow (make test and CI run them all)
	@$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken"; exit 1; fi; exit $$rc

lint: setup
	$(BIN)/ruff check agent evals ui testing tests app.py pages benchmarks
	$(BIN)/ruff format --check agent evals ui testing tests app.py pages benchmarks
	$(BIN)/python -m agent lint policies/
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

bench: setup  ## speed and memory figures, printed side by side
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

EXAMPLES := docs/examples
examples: setup  ## regenerate the example reports in docs/examples (offline, no cache)
	rm -rf $(EXAMPLES)/eval_retention_offers $(EXAMPLES)/ab_shipping_first_vs_lean
	$(BIN)/python -m evals run --policy policies/retention_offers.md --personas fixtures/personas --trials 3 \
		--no-cache --out $(EXAMPLES)/eval_retention_offers
	$(BIN)/python -m evals compare --a policies/retention_offers_shipping_first.md --b policies/retention_offers_lean.md \
		--personas fixtures/personas --trials 5 --no-cache --out $(EXAMPLES)/ab_shipping_first_vs_lean

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache artifacts
