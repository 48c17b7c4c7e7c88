# MedEvidence: `make run` sets up, indexes the starter knowledge and serves; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint bench knowledge

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/medevidence index
	MEDEVIDENCE_DEV_MODE=1 $(BIN)/medevidence serve --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check app indexers tests benchmarks
	$(BIN)/mypy app indexers

bench: setup
	$(BIN)/python -m benchmarks.indexing

# Rebuild knowledge/ from ../shared/data (maintainers; the product never reads ../shared).
knowledge: setup
	$(BIN)/python -m indexers.knowledge_build --shared ../shared/data --out knowledge --embeddings
