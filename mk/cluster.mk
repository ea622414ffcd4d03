# Local Spark daemons from the installed PySpark wheel (its sbin/ scripts), all on 127.0.0.1:
# a standalone cluster (1 master + $(CLUSTER_WORKERS) workers, tools/sparkcluster.py) and a
# Spark Connect server (tools/sparkconnect.py).
# Included from the main Makefile, which defines VENV, PY and the $(STAMP) venv target.
#
#   make cluster-up       start the cluster; the last line printed is the spark:// URL
#   make cluster-status   is it running?
#   make cluster-down     stop it (idempotent)
#   make connect-up       start the Connect server; the last line printed is the sc:// URL
#   make connect-status   is it running?
#   make connect-down     stop it (idempotent)
#
# Capture the URL from another rule:  MASTER=$$($(PY) tools/sparkcluster.py up | tail -n1)

CLUSTER_DIR     ?= .cluster
CLUSTER_WORKERS ?= 2
CLUSTER_CORES   ?= 1
CLUSTER_MEMORY  ?= 2g
CONNECT_DIR     ?= .connect
CONNECT_PORT    ?= 15002
CONNECT_MASTER  ?= local[2]
CONNECT_MEMORY  ?= 2g

.PHONY: cluster-up cluster-down cluster-status connect-up connect-down connect-status

cluster-up: $(STAMP)
	$(PY) tools/sparkcluster.py up --state-dir $(CLUSTER_DIR) \
		--workers $(CLUSTER_WORKERS) --cores $(CLUSTER_CORES) --memory $(CLUSTER_MEMORY)

connect-up: $(STAMP)
	$(PY) tools/sparkconnect.py up --state-dir $(CONNECT_DIR) --port $(CONNECT_PORT) \
		--master '$(CONNECT_MASTER)' --memory $(CONNECT_MEMORY)

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

connect-down:
	$(call daemon-tool,sparkconnect.py,down,$(CONNECT_DIR))

connect-status:
	$(call daemon-tool,sparkconnect.py,status,$(CONNECT_DIR))
