# `make demo`, `make test` and `make lint` work from a clean clone: they create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo scan-demo demo-spans test lint bench bench-overhead bench-gateway bench-correlation bench-estate bench-routes eval fuzz clean

$(BIN)/otel-apisec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# opentelemetry-distro goes beside the venv, not into it: one test puts it on PYTHONPATH to
	# check that both distros coexist, the others check ours alone.
	$(BIN)/pip install --quiet --no-deps --upgrade --target $(VENV)/opentelemetry-distro 'opentelemetry-distro==0.66b1'
	@touch $@

# The main job, live: the gateway and its console, a demo API under opentelemetry-instrument, attack
# traffic. Ctrl-C ends it; DEMO_SECONDS=N runs N seconds, prints a summary and exits 0.
demo: $(BIN)/otel-apisec
	$(BIN)/python -m otel_apisec.examples.demo.run

# The offline scan of a recorded HAR file: its findings, then its API inventory.
scan-demo: $(BIN)/otel-apisec
	$(BIN)/otel-apisec scan otel_apisec/examples/demo.har
	$(BIN)/otel-apisec inventory otel_apisec/examples/demo.har

demo-spans: $(BIN)/otel-apisec
	$(BIN)/python -m otel_apisec.examples.show_spans

test: $(BIN)/otel-apisec
	$(BIN)/python -m pytest

# ruff over everything; mypy over the package as pyproject.toml's [tool.mypy] says (strict on the public API).
lint: $(BIN)/otel-apisec
	$(BIN)/ruff check otel_apisec tests bench
	$(BIN)/mypy

bench: $(BIN)/otel-apisec
	$(BIN)/python bench/throughput.py

bench-overhead: $(BIN)/otel-apisec
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/enrich_paths.py

bench-gateway: $(BIN)/otel-apisec
	$(BIN)/python bench/gateway_throughput.py
	$(BIN)/python bench/gateway_flood.py

bench-correlation: $(BIN)/otel-apisec
	$(BIN)/python bench/correlation_eval.py --geo
	$(BIN)/python bench/correlation_memory.py --mix engine
	$(BIN)/python bench/gateway_alert_latency.py
	$(BIN)/python bench/alert_latency.py
	$(BIN)/python bench/audit_throughput.py
	$(BIN)/python bench/ocsf_export.py

# The estate: findings per request with posture per endpoint on and off, and route inference
# against its ground truth (public OpenAPI documents from npm packages, installed by npm ci).
bench-estate: $(BIN)/otel-apisec
	$(BIN)/python bench/findings_per_request.py

bench-routes: $(BIN)/otel-apisec
	cd bench/routes && npm ci --no-audit --no-fund
	$(BIN)/python bench/route_inference.py

# Every parser under atheris (coverage-guided): FUZZ_RUNS inputs per target, crash inputs kept in fuzz-artifacts/.
FUZZ_RUNS ?= 150000
fuzz: $(BIN)/otel-apisec
	$(BIN)/python -m tests.fuzz.run --runs $(FUZZ_RUNS)

eval: $(BIN)/otel-apisec
	$(BIN)/python bench/evaluate.py

clean:
	rm -rf $(VENV) build *.egg-info
