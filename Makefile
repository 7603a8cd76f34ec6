# denoise_lab — `make help` lists the targets. Every target creates .venv and installs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install train test test-all bench lint format clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install the package with pinned constraints (CPU torch 2.13.0)

train: $(STAMP) ## Train the default model on the bundled photos (ARGS="model=unet loss=mse_ssim ...")
	$(BIN)/python -m denoise_lab $(ARGS)

test: $(STAMP) ## Run the test suite (slow tests excluded; `make test-all` runs them too)
	$(BIN)/python -m pytest

test-all: $(STAMP) ## Run every test, slow ones included
	$(BIN)/python -m pytest -m "slow or not slow"

bench: $(STAMP) ## Benchmarks -> BENCHMARKS.md + benchmarks.csv here (~10 min; ARGS="--quick" or "--device cuda")
	$(BIN)/python -m denoise_lab.bench --out . $(ARGS)

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: $(STAMP) ## Reformat with ruff
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

clean: ## Remove caches (keeps .venv and outputs/)
	rm -rf .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
