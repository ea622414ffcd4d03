# Local Spark daemons from the installed PySpark wheel (its sbin/ scripts), all on 127.0.0.1:
# a standalone cluster (1 master + $(CLUSTER_WORKERS) workers, tools/sparkcluster.py).
# Included from the main Makefile, which defines VENV, PY and the $(STAMP) venv target.
#
#   make cluster-up       start the cluster; the last line printed is the spark:// URL
#   make cluster-status   is it running?
#   make cluster-down     stop it (idempotent)
#
# Capture the URL from another rule:  MASTER=$$($(PY) tools/sparkcluster.py up | tail -n1)

CLUSTER_DIR     ?= .cluster
CLUSTER_WORKERS ?= 2
CLUSTER_CORES   ?= 1
CLUSTER_MEMORY  ?= 2g

.PHONY: cluster-up cluster-down cluster-status

cluster-up: $(STAMP)
	$(PY) tools/sparkcluster.py up --state-dir $(CLUSTER_DIR) \
		--workers $(CLUSTER_WORKERS) --cores $(CLUSTER_CORES) --memory $(CLUSTER_MEMORY)

# No $(STAMP) prerequisite for down/status: they must not build a venv; without one nothing
# of ours can be running.   $(call daemon-tool,SCRIPT,COMMAND,STATE_DIR)
define daemon-tool
	@if [ -x "$(PY)" ]; then $(PY) tools/$(1) $(2) --state-dir $(3); \
	elif [ "$(2)" = down ]; then echo "$(PY) not found: nothing of this checkout can be running"; \
	else echo "not running ($(PY) not found)"; exit 1; fi
endef

cluster-down:
	$(call daemon-tool,sparkcluster.py,down,$(CLUSTER_DIR))

cluster-status:
	$(call daemon-tool,sparkcluster.py,status,$(CLUSTER_DIR))
