# Two commands on a fresh machine:  `make serve`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test install build lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Trains and registers the built-in models into ./registry.db; a no-op when they are built.
build: $(STAMP)
	$(BIN)/hub build

# Serves at once; the models not built yet are built in a background process, quickest first,
# and each is served as soon as it is registered.
serve: $(STAMP)
	$(BIN)/hub serve --build --host $(HOST) --port $(PORT)

# The web catalog's tests drive Debian's chromium through chromium-driver (Selenium).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x /usr/bin/chromedriver -a -x /usr/bin/chromium || { \
	  echo "installing chromium and chromium-driver for the web catalog tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }

test: $(STAMP) browser
	HUB_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q $(PYTEST_ARGS)

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
