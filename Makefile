# `make test` and `make run` work on a fresh machine that has only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` needs only the runtime dependencies: no dev tools, no build of the
# project (it runs from this folder), so it is quick and prints nothing but the bot.
RUN_STAMP := $(VENV)/.installed-run
RUN_REQUIREMENTS := $(VENV)/requirements-run.txt

.PHONY: run test lint types unit bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > $(RUN_REQUIREMENTS)
	@echo "installing banana-bot's runtime dependencies into $(VENV) …"
	@$(BIN)/pip install --quiet --disable-pip-version-check -r $(RUN_REQUIREMENTS)
	@touch $(RUN_STAMP)

run: $(RUN_STAMP)
	@$(BIN)/python -m bot

test: $(STAMP) lint types unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy --strict bot

unit: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run
