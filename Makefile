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

# Graphviz's `dot` renders the diagrams, pdflatex builds the report and Chromium runs the browser tests of
# `explain`; install them where we can (root with apt-get), otherwise say what to install and go on without them.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
TEX_PACKAGES = texlive-latex-base texlive-latex-recommended texlive-pictures
system-deps:
	@command -v dot >/dev/null 2>&1 && kpsewhich tikz.sty >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Graphviz, LaTeX and Chromium (apt-get install graphviz chromium $(TEX_PACKAGES))"; \
	    { apt-get update -qq && $(APT_INSTALL) graphviz chromium $(TEX_PACKAGES) >/dev/null; } \
	      || echo "apt-get could not install them; drawings, the report's PDF and the browser tests will say what is missing"; \
	  else \
	    command -v dot >/dev/null 2>&1 || echo "Graphviz 'dot' is missing: install it with 'sudo apt-get install graphviz', 'brew install graphviz' or 'conda install -c conda-forge graphviz'"; \
	    kpsewhich tikz.sty >/dev/null 2>&1 || echo "LaTeX (pdflatex with TikZ) is missing, so the report's PDF is skipped: 'sudo apt-get install $(TEX_PACKAGES)' or 'brew install --cask mactex'"; \
	    command -v chromium >/dev/null 2>&1 || echo "Chromium is missing, so the browser tests of explain are skipped: 'sudo apt-get install chromium'"; \
	  fi; }

demo: install
	$(BIN)/python cli.py trace eq2.yaml --wrt x2 --mode forward
	$(BIN)/python cli.py trace eq2.yaml --wrt x2 --mode reverse
	$(BIN)/python cli.py report --out outputs

test: install
	$(BIN)/python -m pytest -q -rs -n auto --dist worksteal  # a worker per core (pytest-xdist)

bench: install
	$(BIN)/python bench/bench_scalar.py
	$(BIN)/python bench/bench_mlp.py
	$(BIN)/python bench/bench_gauss_newton.py
	$(BIN)/python bench/bench_cheap_gradient.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
