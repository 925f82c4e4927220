# make demo: set up and compile an example; make test: set up and run every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	@# fgir viz lays out .svg/.png with Graphviz's dot: Debian's graphviz, installed as root once
	@command -v dot >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		graphviz fonts-liberation2 fonts-dejavu-core; }
	@command -v dot >/dev/null 2>&1 || echo "note: install Graphviz (Debian: graphviz) for fgir viz .svg/.png"
	@# the search report's browser test drives a headless Chromium: Debian's chromium and its driver, as root once
	@command -v chromedriver >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }
	@command -v chromedriver >/dev/null 2>&1 || echo "note: install chromium and chromium-driver for the report's browser test"

demo: setup
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
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build .pytest_cache
