# Local Spark standalone cluster: 1 master + $(CLUSTER_WORKERS) workers, all on 127.0.0.1,
# run from the installed PySpark (see src/sparkvision/standalone.py).
# Included from the main Makefile, which defines VENV, PY and the $(STAMP) venv target.
#
#   make cluster-up       start it; the last line printed is the spark:// URL
#   make cluster-status   is it running?
#   make cluster-down     stop it (idempotent)
#
# Capture the URL from another rule:  MASTER=$$($(PY) -m sparkvision.standalone up | tail -n1)

CLUSTER_DIR     ?= .cluster
CLUSTER_WORKERS ?= 2
CLUSTER_CORES   ?= 1
CLUSTER_MEMORY  ?= 2g

.PHONY: cluster-up cluster-down cluster-status

cluster-up: $(STAMP)
	$(PY) -m sparkvision.standalone up --state-dir $(CLUSTER_DIR) \
		--workers $(CLUSTER_WORKERS) --cores $(CLUSTER_CORES) --memory $(CLUSTER_MEMORY)

# No $(STAMP) prerequisite: stopping must not build a venv; without one nothing of ours runs.
cluster-down:
	@if [ -x "$(PY)" ]; then \
		$(PY) -m sparkvision.standalone down --state-dir $(CLUSTER_DIR); \
	else \
		echo "$(PY) not found: no cluster of this checkout can be running"; \
	fi

cluster-status:
	@if [ -x "$(PY)" ]; then \
		$(PY) -m sparkvision.standalone status --state-dir $(CLUSTER_DIR); \
	else \
		echo "not running ($(PY) not found)"; exit 1; \
	fi
