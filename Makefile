# Commands of the CNN book. `make setup` once, then `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A second environment with nothing but this package (its pyproject.toml dependencies) and
# nbval: the notebooks are tested in it, as a reader's Colab or laptop kernel would run them.
PKG_VENV ?= .venv-pkg
PKG_BIN := $(PKG_VENV)/bin
# While editing, nbval imports this checkout's book_utils (set on PYTHONPATH) with the
# dependencies installed in .venv-pkg; CI sets PKG_PYTHONPATH= so the installed copy is used.
PKG_PYTHONPATH ?= $(CURDIR)
# The book build and nbval train from scratch (CNN_BOOK_FRESH=1) unless told otherwise, so the
# pages show a real training run even where a checkpoint from an earlier run exists.
# Offline copy of the datasets (read-only is fine): used when CNN_BOOK_DATA is not set and a
# ../shared/data folder sits beside the checkout, as on the project's own machines.
ifeq ($(strip $(CNN_BOOK_DATA)),)
  ifneq ($(wildcard ../shared/data/MNIST),)
    export CNN_BOOK_DATA := $(abspath ../shared/data)
  endif
endif

.PHONY: setup book test unit nbval bench clean browser browser-test

setup:  ## create .venv (everything, for the build) and .venv-pkg (the package only, for nbval)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(PYTHON) -m venv $(PKG_VENV)
	$(PKG_BIN)/python -m pip install . "nbval>=0.11"

book:  ## strict build: executes every notebook (quick profile); HTML in _build/html/index.html
	CNN_BOOK_PROFILE=quick CNN_BOOK_FRESH=$${CNN_BOOK_FRESH:-1} $(BIN)/jupyter-book build . -W -n --keep-going

test: unit nbval  ## unit tests, then nbval on every chapter notebook in the package-only kernel

unit:  ## unit tests only
	CNN_BOOK_PROFILE=quick TQDM_DISABLE=1 $(BIN)/python -m pytest -p no:cacheprovider tests

nbval:  ## nbval in .venv-pkg (package only, no build tools) on chapters/ and appendix/; NB=chapters/06_lenet_mnist.ipynb for one
	PYTHONPATH=$(PKG_PYTHONPATH) CNN_BOOK_PROFILE=quick TQDM_DISABLE=1 CNN_BOOK_FRESH=$${CNN_BOOK_FRESH:-1} \
	  $(PKG_BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env $(or $(NB),chapters appendix)

browser:  ## install Debian's chromium for the browser tests (only if /usr/bin/chromium is missing)
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; else \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium fonts-noto-cjk; fi

browser-test:  ## open every page of the built book (run `make book` first) in headless Chromium
	CNN_BOOK_BROWSER=1 $(BIN)/python -m pytest tests/browser -v

bench:  ## print speed figures
	$(BIN)/python benchmarks/bench_layers.py

clean:
	rm -rf _build
