# drumeval: the two commands a user needs are `make run` and `make test`.
# Both are idempotent: apt packages and Python packages are installed only when missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := fluidsynth fluid-soundfont-gm chromium ffmpeg python3-venv postgresql
APT_PACKAGES += nginx
PORT ?= 8501
export KERAS_BACKEND := jax
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: run test test-fast lint setup apt venv data bench clean

# First start: migrate the database, build the demo study (cached) and print the generated
# admin password once; later starts skip straight to serving.
run: setup data
	$(PY) -m drumeval study demo --ensure
	$(PY) -m drumeval.serve --server.port $(PORT)

test: setup data
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# The edit–test loop: everything but the Chromium and slow (training/rendering) tests.
test-fast: setup data
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow and not browser"

lint: setup
	$(VENV)/bin/ruff check .

setup: apt venv

# Install only the Debian packages that are missing (needs root or sudo).
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing apt packages: $$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@# An interrupted first run can leave a venv without pip: make it again.
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# The corpora are shipped under data/corpora; rebuild them only if missing.
data: venv
	@test -f data/corpora/jazz-soul-1500/manifest.json || $(VENV)/bin/drumeval data build

# Every benchmarks/bench_*.py in turn; figures beside their targets in benchmarks/RESULTS.md.
bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Scale-out on this machine: throwaway PostgreSQL + 2 replicas behind nginx, until Ctrl-C.
.PHONY: replicas stress stress-load
replicas: setup
	$(PY) -m deploy.replicas

# Long load test: 100 simulated + 5 Chromium evaluators, SQLite and PostgreSQL behind nginx.
stress: stress-load
stress-load: setup
	$(PY) benchmarks/bench_load.py --evaluators 100 --browsers 5

# Long MIDI fuzz: 5,000 mutated files through the reader, the CLI, render and the upload path.
.PHONY: stress-fuzz
stress: stress-fuzz
stress-fuzz: setup
	DRUMEVAL_FUZZ_CASES=5000 DRUMEVAL_FUZZ_RENDERS=40 DRUMEVAL_FUZZ_SEED=1 $(PY) -m pytest tests/fuzz -q
