# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install system-deps bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(STAMP) system-deps

# Graphviz's `dot` renders the diagrams; install it where we can (root on Debian/Ubuntu).
system-deps:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Graphviz (apt-get install graphviz)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  else \
	    echo "Graphviz 'dot' is missing: install it with 'sudo apt-get install graphviz', 'brew install graphviz' or 'conda install -c conda-forge graphviz'"; \
	  fi; }

demo: install
	$(BIN)/python cli.py trace eq2.yaml --wrt x2 --mode forward
	$(BIN)/python cli.py trace eq2.yaml --wrt x2 --mode reverse

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_scalar.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
