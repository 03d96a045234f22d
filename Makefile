# Two commands on a fresh machine:  `make serve`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test install build lint bench clean browser universal

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# UNIVERSAL=1 (make serve / make test / make build): the universal potentials too (SevenNet,
# CHGNet; docs/universal.md). PyTorch's CPU build goes first, pinned through the extra's
# install so pip never swaps it for a CUDA build. On this project's machines
# `pip install torch==2.13.0` takes the CPU build from local disk; elsewhere give
# TORCH_INDEX=https://download.pytorch.org/whl/cpu (PyPI's Linux torch is the CUDA build).
TORCH       ?= torch==2.13.0
TORCH_INDEX ?=
U_STAMP     := $(VENV)/.installed-universal
EXTRAS      := $(if $(UNIVERSAL),$(U_STAMP))

$(U_STAMP): $(STAMP)
	$(BIN)/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[dev,universal]' '$(TORCH)'
	touch $(U_STAMP)

universal: $(U_STAMP)

# Trains and registers the built-in models into ./registry.db; a no-op when they are built.
build: $(STAMP) $(EXTRAS)
	$(BIN)/hub build

# Serves at once; the models not built yet are built in a background process, quickest first,
# and each is served as soon as it is registered.
serve: $(STAMP) $(EXTRAS)
	$(BIN)/hub serve --build --host $(HOST) --port $(PORT)

# The web catalog's tests drive Debian's chromium through chromium-driver (Selenium).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x /usr/bin/chromedriver -a -x /usr/bin/chromium || { \
	  echo "installing chromium and chromium-driver for the web catalog tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }

# With UNIVERSAL=1 the universal potentials' tests must run (they fail, not skip, without them).
test: $(STAMP) browser $(EXTRAS)
	HUB_REQUIRE_BROWSER=1 $(if $(UNIVERSAL),HUB_REQUIRE_UNIVERSAL=1) \
	  $(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check hub domains tests bench
	$(BIN)/ruff format --check hub domains tests bench
	$(BIN)/lint-imports

bench: build
	$(BIN)/python bench/predict_latency.py
	$(BIN)/python bench/featurize_throughput.py
	$(BIN)/python bench/calculator_overhead.py
	$(BIN)/python bench/catalog_index.py

clean:
	rm -rf $(VENV) registry.db registry.db-* artifacts
