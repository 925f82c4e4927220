# make demo: a venv with fgir and its base dependencies (CPU torch, onnx, onnxruntime), then the demo.
# make test: the same venv plus the test extra (pytest, ray, selenium, ...) and, as root, Debian's graphviz
#            and chromium (the report page's browser test); then the whole suite (what .ci/run runs).
# apt's output goes to build/apt.log, pip's is quiet: a fresh `make demo` prints the demo, not the install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install -q --disable-pip-version-check -c constraints.txt
BASE   := $(VENV)/.installed-base
TEST   := $(VENV)/.installed-test
APTLOG := build/apt.log

.PHONY: setup setup-demo system-packages demo test bench clean

$(BASE): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $(BASE)

$(TEST): $(BASE)
	$(PIP) -e '.[test]'
	touch $(TEST)

# Debian packages the suite needs, installed once as root (elsewhere: a note saying what to install).
# graphviz: fgir viz lays out .svg/.png with dot; chromium + chromium-driver: the report page's browser test.
system-packages:
	@mkdir -p build
	@command -v dot >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { echo "apt: graphviz (log: $(APTLOG))"; \
		apt-get update -qq >>$(APTLOG) 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends graphviz fonts-liberation2 fonts-dejavu-core >>$(APTLOG) 2>&1; }
	@command -v dot >/dev/null 2>&1 || echo "note: install Graphviz (Debian: graphviz) for fgir viz .svg/.png"
	@command -v chromedriver >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { echo "apt: chromium (log: $(APTLOG))"; \
		apt-get update -qq >>$(APTLOG) 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium chromium-driver >>$(APTLOG) 2>&1; }
	@command -v chromedriver >/dev/null 2>&1 || echo "note: install chromium and chromium-driver for the report's browser test"

setup-demo: $(BASE)
setup: $(TEST) system-packages

demo: $(BASE)
	$(BIN)/fgir check examples/variant_layer.yaml
	$(BIN)/fgir summary examples/resnet20_cifar.yaml
	mkdir -p build
	$(BIN)/fgir compile examples/resnet18.yaml -o build/resnet18.pt --seed 0
	$(BIN)/fgir compile examples/resnet18.yaml -o build/resnet18.onnx --weights build/resnet18.pt
	$(BIN)/fgir viz examples/resnet20_cifar.yaml -o build/resnet20.dot --depth 1
	$(BIN)/fgir search examples/backbone_nas.yaml -o build/search --budget 60 --max-macs 150000000
	$(BIN)/fgir report build/search -o build/search_report.html

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(PIP) -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build .pytest_cache
