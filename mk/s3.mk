# A local S3 server (moto's, from the test extra) on 127.0.0.1, for trying s3:// inputs and
# outputs without a cloud account. Included from the main Makefile.
#
#   make s3-up      start it in the background; prints the endpoint and the variables to
#                   export (S3_LATENCY_MS=20 adds 20 ms to every request, S3_THROTTLE_EVERY=10
#                   answers every 10th request 503 SlowDown, as S3 does when throttling)
#   make s3-down    stop it (idempotent)

S3_DIR            ?= .s3
S3_PORT           ?= 9000
S3_LATENCY_MS     ?= 0
S3_THROTTLE_EVERY ?= 0

.PHONY: s3-up s3-down

s3-up: $(STAMP)
	@mkdir -p $(S3_DIR)
	@if [ -f $(S3_DIR)/pid ] && kill -0 $$(cat $(S3_DIR)/pid) 2>/dev/null; then \
		echo "already running (pid $$(cat $(S3_DIR)/pid)):"; cat $(S3_DIR)/log; exit 0; fi; \
	nohup $(PY) -m sparkvision.bench.s3local --port $(S3_PORT) --latency-ms $(S3_LATENCY_MS) \
		--throttle-every $(S3_THROTTLE_EVERY) > $(S3_DIR)/log 2>&1 & echo $$! > $(S3_DIR)/pid; \
	for i in $$(seq 100); do grep -q AWS_ENDPOINT_URL $(S3_DIR)/log && break; \
		kill -0 $$(cat $(S3_DIR)/pid) 2>/dev/null || break; sleep 0.2; done; \
	if grep -q AWS_ENDPOINT_URL $(S3_DIR)/log; then cat $(S3_DIR)/log; \
	else echo "the local S3 server did not start:"; cat $(S3_DIR)/log; rm -f $(S3_DIR)/pid; exit 1; fi

s3-down:
	@if [ -f $(S3_DIR)/pid ] && kill -0 $$(cat $(S3_DIR)/pid) 2>/dev/null; then \
		kill $$(cat $(S3_DIR)/pid); \
		for i in $$(seq 50); do kill -0 $$(cat $(S3_DIR)/pid) 2>/dev/null || break; sleep 0.1; done; \
		echo "local S3 server stopped"; \
	else echo "no local S3 server running from $(S3_DIR)"; fi; rm -f $(S3_DIR)/pid
