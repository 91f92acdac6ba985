# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_DOTENV := build/node/node_modules/dotenv/package.json

.PHONY: install demo test check bench clean mutate

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Node's dotenv, for the round-trip tests of `print --format dotenv`; the tests own this folder.
$(NODE_DOTENV):
	mkdir -p build/node
	npm install --prefix build/node --no-audit --no-fund --silent dotenv@17

demo: install
	$(BIN)/python examples/demo.py

test: install $(NODE_DOTENV)
	$(BIN)/python -m pytest -n 2 -q -m 'not serial'
	$(BIN)/python -m pytest -q -m serial

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

# Mutation testing of the safety core ([tool.mutmut] in pyproject.toml; docs/testing.md). One module at a
# time, so a stop loses little; mutmut remembers finished mutants in mutants/ and resumes.
MUTATED := bindings resolution secret_requests fetched formats watching supervision
mutate: install
	for module in $(MUTATED); do $(BIN)/mutmut run --max-children 2 "calitho_env.core.$$module.*" || exit 1; done
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis mutants
