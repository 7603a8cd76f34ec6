# denoise_lab — `make help` lists the targets. Every target creates .venv and installs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install train test test-all wheel-check bench lint format clean

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

wheel-check: $(STAMP) ## Build the wheel, install it (not editable) in a fresh venv, run it from another folder
	set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir "$$dir/dist" .; \
	$(PYTHON) -m venv "$$dir/venv"; \
	"$$dir/venv/bin/pip" install --quiet -c constraints.txt "$$dir"/dist/*.whl; \
	cd "$$dir"; \
	venv/bin/python -m denoise_lab debug=fast trainer.enable_progress_bar=false; \
	venv/bin/python -m denoise_lab.predict --help > /dev/null; \
	venv/bin/denoise-lab-predict --help > /dev/null; \
	venv/bin/python -c "import denoise_lab.pretrained as p; print('wheel-check: shipped models', p.names())"

bench: $(STAMP) ## Benchmarks -> BENCHMARKS.md + benchmarks.csv here (~10 min; ARGS="--quick" or "--device cuda")
	$(BIN)/python -m benchmarks --out . $(ARGS)

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP) ## Reformat with ruff
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean: ## Remove caches (keeps .venv and outputs/)
	rm -rf .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
