# Two commands on a fresh machine: `make assess` (the main job on defaults) and `make test`.
# Each creates or updates .venv by itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.core-installed
FULL := $(VENV)/.full-installed

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(CORE): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

# torch==2.13.0 first, on its own: pip then takes the CPU build, never a CUDA one
$(FULL): pyproject.toml $(CORE)
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[norse,optuna,test]"
	touch $@

.PHONY: assess test bench bench-optimizers clean
assess: $(CORE)
	$(VENV)/bin/jaxplaus assess

# six pytest processes, two at a time (tests/run_suite.sh says why)
test: $(FULL)
	PY=$(PY) tests/run_suite.sh

bench: $(FULL)
	$(PY) benchmarks/throughput.py

# the optimizer benchmark of the README (hours on a 2-core CPU; Optuna's TPE is most of it)
BENCH_STRATEGIES := cma_es,sep_cma_es,de,pso,optuna_tpe,optuna_random
bench-optimizers: $(FULL)
	$(VENV)/bin/jaxplaus benchmark --model izhikevich2004 --strategies $(BENCH_STRATEGIES) --seeds 5 --budget 2048 \
		--out benchmarks/results/benchmark-izhikevich2004 --resume
	$(VENV)/bin/jaxplaus benchmark --model adex --strategies $(BENCH_STRATEGIES) --seeds 5 --budget 2048 \
		--out benchmarks/results/benchmark-adex --resume

clean:
	rm -rf $(VENV) .jax_cache
