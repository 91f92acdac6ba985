# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_DOTENV := build/node/node_modules/dotenv/package.json
NEXTJS := build/nextjs
NEXTJS_APP := tests/nextjs_app/next.config.js tests/nextjs_app/app/database-url/route.js

.PHONY: install demo test check bench clean nextjs mutate

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Node's dotenv, for the round-trip tests of `print --format dotenv`; the tests own this folder.
$(NODE_DOTENV):
	mkdir -p build/node
	npm install --prefix build/node --no-audit --no-fund --silent dotenv@17

# A real Next.js server for tests/test_nextjs.py: pinned next, react and react-dom, and the app of
# tests/nextjs_app built once (`next build`); both are cached under build/ until the app changes.
$(NEXTJS)/node_modules/next/package.json:
	mkdir -p $(NEXTJS)
	npm install --prefix $(NEXTJS) --no-audit --no-fund --silent next@15.5.29 react@19.1.1 react-dom@19.1.1

$(NEXTJS)/.next/BUILD_ID: $(NEXTJS)/node_modules/next/package.json $(NEXTJS_APP)
	cp -R tests/nextjs_app/. $(NEXTJS)/
	cd $(NEXTJS) && NEXT_TELEMETRY_DISABLED=1 node node_modules/next/dist/bin/next build > build.log 2>&1 \
		|| { cat build.log; exit 1; }

nextjs: $(NEXTJS)/.next/BUILD_ID

demo: install
	$(BIN)/python examples/demo.py

test: install $(NODE_DOTENV) $(NEXTJS)/.next/BUILD_ID
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
