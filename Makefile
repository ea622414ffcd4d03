# Two commands on a fresh machine:  make demo   and   make test
# Both create (or reuse) .venv in the repo root, installing with constraints.txt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= torch,test,bench,delta,demo,keras,hf,connect
DEMO   := demo-output

.PHONY: demo lint test test-fast venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a range left to pip would pull several GB of CUDA packages
	$(PY) -m pip install --quiet -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	@touch $@

demo: $(STAMP)
	@rm -rf $(DEMO)
	$(PY) scripts/demo_images.py $(DEMO)/images
	$(VENV)/bin/sparkvision classify $(DEMO)/images --out $(DEMO)/preds.parquet \
		--label-from folder --sort-into $(DEMO)/sorted
	$(VENV)/bin/sparkvision embed $(DEMO)/images --out $(DEMO)/vectors.parquet --quiet
	@echo
	@echo "Results: $(DEMO)/preds.parquet (labels), $(DEMO)/vectors.parquet (embeddings),"
	@echo "         $(DEMO)/sorted/<label>/ (sorted copies, manifest in $(DEMO)/sorted/_manifest.csv)"

lint: $(STAMP)
	$(PY) -m ruff check src tests scripts tools
	$(PY) -m mypy

test: $(STAMP) lint
	# GPU tests need a CUDA machine: there run  .venv/bin/python -m pytest -m gpu tests/gpu
	$(PY) -m pytest -q -p no:cacheprovider -m "not gpu"

test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

clean:
	rm -rf $(VENV) $(DEMO) .cluster .connect build src/*.egg-info

include mk/cluster.mk
