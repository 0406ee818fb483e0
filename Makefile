PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint docs bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[cnn,dashboard,postgres,report,compile,serve,onnx,lleaves,mlflow,dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/paretoml run studies/breast_cancer.yaml

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check paretoml tests benchmarks
	$(BIN)/ruff format --check paretoml tests benchmarks
	$(BIN)/mypy

# The API reference, generated from the docstrings (not committed). A pdoc warning (an annotation it cannot
# resolve, a broken reference) fails the build.
DOC_MODULES := paretoml paretoml.sklearn paretoml.mlflow paretoml.serving paretoml.trial paretoml.families paretoml.compression \
	paretoml.pareto paretoml.measure paretoml.report paretoml.objectives paretoml.exceptions paretoml.features \
	paretoml.spaces paretoml.data paretoml.study

docs: setup
	rm -rf docs/api
	$(BIN)/python -W error::UserWarning -m pdoc --docformat google --output-directory docs/api $(DOC_MODULES)

bench: setup
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(BIN)/python benchmarks/serving_path.py
	$(BIN)/python benchmarks/unseen_data.py 60
	$(BIN)/python benchmarks/feature_subsets.py 60
	$(BIN)/python benchmarks/vs_flaml.py 60
	$(BIN)/python benchmarks/front_quality.py 20 2
	$(BIN)/python benchmarks/front_quality.py 60 2 breast_cancer,diabetes long
	$(BIN)/python benchmarks/cnn.py 180
	$(BIN)/python benchmarks/ablation.py 60 2
	$(BIN)/python benchmarks/overhead.py --part overhead --trials 100,500
	$(BIN)/python benchmarks/overhead.py --part overhead --trials 2000
	$(BIN)/python benchmarks/overhead.py --part demo
	$(BIN)/python benchmarks/overhead.py --part concurrent
	$(BIN)/python benchmarks/overhead.py --part scale
	$(BIN)/python benchmarks/kill_resume.py 20
	$(BIN)/python benchmarks/compression.py nyc_flights 90
	$(BIN)/python benchmarks/compression.py breast_cancer 45
	$(BIN)/python benchmarks/dashboard_check.py
	$(BIN)/python benchmarks/serving_http.py 10

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache docs/api
