# Two commands on a fresh machine:  make demo   and   make test
# Both create (or reuse) .venv in the repo root, installing with constraints.txt.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= torch,test,bench,delta,demo,keras,hf,connect,openvino,int8,s3,mlflow,index
DEMO   := demo-output

.PHONY: demo lint test test-fast test-core venv clean

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
		--label-from folder --sort-into $(DEMO)/sorted --report $(DEMO)/report.html
	$(VENV)/bin/sparkvision embed $(DEMO)/images --out $(DEMO)/vectors.parquet --quiet
	$(VENV)/bin/sparkvision dedup $(DEMO)/images --vectors $(DEMO)/vectors.parquet \
		--out $(DEMO)/duplicates.parquet --report $(DEMO)/duplicates.html
	@echo
	@echo "Results: $(DEMO)/preds.parquet (labels), $(DEMO)/vectors.parquet (embeddings),"
	@echo "         $(DEMO)/sorted/<label>/ (sorted copies, manifest in $(DEMO)/sorted/_manifest.csv)"
	@echo "Report:  $(DEMO)/report.html (open it in a browser); duplicates: $(DEMO)/duplicates.html"

lint: $(STAMP)
	$(PY) -m ruff check src tests scripts tools
	$(PY) -m mypy
	# the package's layers and its Spark-free models, as contracts (.importlinter)
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	# GPU tests need a CUDA machine: there run  .venv/bin/python -m pytest -m gpu tests/gpu
	$(PY) -m pytest -q -p no:cacheprovider -m "not gpu"

test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

# The unit tests in a core install: `pip install sparkvision` with no extras (no torch, keras,
# openvino, scikit-image, ...). A test that needs an extra skips and names it; -rs lists them.
# Not part of `make test`: the venv is built once in build/core-venv (about 1 GB).
CORE_VENV := build/core-venv
test-core:
	@test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@! $(CORE_VENV)/bin/python -c 'import torch' 2>/dev/null || \
		{ echo "$(CORE_VENV) has torch: not a core install"; exit 1; }
	$(CORE_VENV)/bin/python -m pytest -q -rs -p no:cacheprovider tests/unit

clean:
	rm -rf $(VENV) $(DEMO) .cluster .connect .s3 .mlflow build src/*.egg-info

include mk/cluster.mk mk/s3.mk mk/mlflow.mk
