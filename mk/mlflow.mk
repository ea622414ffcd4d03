# A local MLflow tracking server and model registry on 127.0.0.1 (the mlflow extra), for
# train/classify/embed --mlflow and models:/ URIs without a hosted one. Included from the
# main Makefile.
#
#   make mlflow-up      start it in the background: runs and registered models in a SQLite
#                       file, artifacts in a folder, both under $(MLFLOW_DIR); prints the
#                       variable to export last
#   make mlflow-down    stop it (idempotent); $(MLFLOW_DIR) keeps the runs for the next start

MLFLOW_DIR  ?= .mlflow
MLFLOW_PORT ?= 5000
MLFLOW_URI  := http://127.0.0.1:$(MLFLOW_PORT)

.PHONY: mlflow-up mlflow-down

mlflow-up: $(STAMP)
	@mkdir -p $(MLFLOW_DIR)
	@if [ -f $(MLFLOW_DIR)/pid ] && kill -0 $$(cat $(MLFLOW_DIR)/pid) 2>/dev/null; then \
		echo "already running (pid $$(cat $(MLFLOW_DIR)/pid)):"; \
		echo "export MLFLOW_TRACKING_URI=$$(cat $(MLFLOW_DIR)/uri)"; exit 0; fi; \
	setsid nohup $(VENV)/bin/mlflow server --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1 \
		--backend-store-uri sqlite:///$(abspath $(MLFLOW_DIR))/mlflow.db \
		--artifacts-destination $(abspath $(MLFLOW_DIR))/artifacts \
		> $(MLFLOW_DIR)/log 2>&1 & echo $$! > $(MLFLOW_DIR)/pid; \
	echo $(MLFLOW_URI) > $(MLFLOW_DIR)/uri; \
	for i in $$(seq 240); do $(PY) -c "import urllib.request as u; \
		u.urlopen('$(MLFLOW_URI)/health', timeout=1)" 2>/dev/null && break; \
		kill -0 $$(cat $(MLFLOW_DIR)/pid) 2>/dev/null || break; sleep 0.25; done; \
	if $(PY) -c "import urllib.request as u; u.urlopen('$(MLFLOW_URI)/health', timeout=1)" \
		2>/dev/null; then echo "MLflow server up (log: $(MLFLOW_DIR)/log, stop: make mlflow-down)"; \
		echo "export MLFLOW_TRACKING_URI=$(MLFLOW_URI)"; \
	else echo "the MLflow server did not start:"; tail -20 $(MLFLOW_DIR)/log; \
		kill -- -$$(cat $(MLFLOW_DIR)/pid) 2>/dev/null; rm -f $(MLFLOW_DIR)/pid; exit 1; fi

# the server runs its web workers and a job runner as children: the whole process group goes
mlflow-down:
	@if [ -f $(MLFLOW_DIR)/pid ] && kill -0 $$(cat $(MLFLOW_DIR)/pid) 2>/dev/null; then \
		kill -- -$$(cat $(MLFLOW_DIR)/pid); \
		for i in $$(seq 50); do kill -0 $$(cat $(MLFLOW_DIR)/pid) 2>/dev/null || break; sleep 0.1; done; \
		echo "MLflow server stopped"; \
	else echo "no MLflow server running from $(MLFLOW_DIR)"; fi; rm -f $(MLFLOW_DIR)/pid
