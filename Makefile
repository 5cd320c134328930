# riskengine — every target calls the riskengine CLI inside the project's virtual environment.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RISKENGINE := $(BIN)/riskengine
INSTALLED := $(VENV)/.installed

AS_OF ?= $(shell date +%F)
BUYER_COUNTRY ?= JP
DEMO_SOURCING := riskengine/demo/sourcing.csv
DEMO_BOM := riskengine/demo/bom.csv
DEMO_BUYER ?= Kanto Magnetics K.K. (illustrative)
INPUT ?= $(DEMO_SOURCING)
OUTPUT ?= outputs/scores.csv
PORT ?= 5000
# What changed between two runs (make diff; make demo compares OLD_AS_OF with AS_OF).
OLD_AS_OF ?= 2025-03-01
NEW_AS_OF ?= 2025-06-01
# Stress: the demo's inventory and plan are illustrative (the team's own numbers, not facts).
DEMO_INVENTORY := riskengine/demo/inventory.csv
DEMO_PLAN := riskengine/demo/plan.csv
SCENARIO ?= heavy_rare_earths_japan_90d
# The demo report's inputs, all written by make demo.
DEMO_STRESS := outputs/demo_stress.csv
DEMO_ALTERNATIVES := outputs/demo_alternatives.csv
DEMO_CHANGES := outputs/demo_changes_since_$(OLD_AS_OF).csv
DEMO_REPORT_INPUTS := outputs/demo_scores.csv --bom outputs/demo_products.csv \
	--stress $(DEMO_STRESS) --alternatives $(DEMO_ALTERNATIVES) --changes $(DEMO_CHANGES)

.PHONY: help install demo test test-slow test-spark lint typecheck format features train retrain backtest labels score score-bom \
	report browser report-check screening bench reference ui clean

help: ## Show the targets and what they do
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: AS_OF=$(AS_OF) BUYER_COUNTRY=$(BUYER_COUNTRY) INPUT=$(INPUT) OUTPUT=$(OUTPUT)"

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(INSTALLED)

install: $(INSTALLED) ## Create .venv and install riskengine with its dev tools

demo: $(INSTALLED) ## Train if needed; score the demo list and BOM; stress, alternatives, changes; the HTML report
	@mkdir -p outputs
	$(RISKENGINE) train --if-missing
	$(RISKENGINE) score $(DEMO_SOURCING) --as-of $(AS_OF) --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o outputs/demo_scores.csv
	$(RISKENGINE) score-bom $(DEMO_BOM) --sourcing $(DEMO_SOURCING) --as-of $(AS_OF) \
		--buyer-country $(BUYER_COUNTRY) --buyer "$(DEMO_BUYER)" \
		-o outputs/demo_products.csv --lines outputs/demo_bom_lines.csv
	$(RISKENGINE) features $(DEMO_SOURCING) --as-of $(AS_OF) --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o features/demo_features_$(AS_OF).parquet
	@echo "stress:   the 90-day heavy-rare-earth curb on the demo magnet maker (make stress):"
	$(RISKENGINE) stress $(DEMO_BOM) --sourcing $(DEMO_SOURCING) --inventory $(DEMO_INVENTORY) \
		--plan $(DEMO_PLAN) --scenario heavy_rare_earths_japan_90d --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o $(DEMO_STRESS) --pairs outputs/demo_stress_pairs.csv
	@echo "alternatives: other producing countries for the high and critical pairs (make alternatives):"
	$(RISKENGINE) alternatives outputs/demo_scores.csv --bom $(DEMO_BOM) --buyer "$(DEMO_BUYER)" \
		-o $(DEMO_ALTERNATIVES)
	@echo "changes:  the demo as of $(OLD_AS_OF) against the demo as of $(AS_OF) (make diff):"
	$(RISKENGINE) score $(DEMO_SOURCING) --as-of $(OLD_AS_OF) --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o outputs/demo_scores_$(OLD_AS_OF).csv
	$(RISKENGINE) diff outputs/demo_scores_$(OLD_AS_OF).csv outputs/demo_scores.csv \
		--buyer "$(DEMO_BUYER)" -o $(DEMO_CHANGES)
	$(RISKENGINE) report $(DEMO_REPORT_INPUTS) -o outputs/demo_report.html
	@echo "scores:   outputs/demo_scores.csv"
	@echo "products: outputs/demo_products.csv (lines: outputs/demo_bom_lines.csv)"
	@echo "stress:   $(DEMO_STRESS) (pairs before and after: outputs/demo_stress_pairs.csv)"
	@echo "alternatives: $(DEMO_ALTERNATIVES)"
	@echo "changes:  $(DEMO_CHANGES)"
	@echo "report:   outputs/demo_report.html (make report-check to check it in Chromium)"
	@echo "features: features/demo_features_$(AS_OF).parquet"
	@echo "runs:     models/mlflow.db (make ui)"

.PHONY: stress

stress: $(INSTALLED) ## Stress the demo BOM under SCENARIO (a shipped name or a TOML file)
	@mkdir -p outputs
	$(RISKENGINE) train --if-missing
	$(RISKENGINE) stress $(DEMO_BOM) --sourcing $(DEMO_SOURCING) --inventory $(DEMO_INVENTORY) \
		--plan $(DEMO_PLAN) --scenario $(SCENARIO) --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o outputs/stress.csv --pairs outputs/stress_pairs.csv

test: $(INSTALLED) ## Run the test suite on every core (the slow end-to-end cases apart: make test-slow)
	$(BIN)/python -m pytest -n auto

test-slow: $(INSTALLED) ## The slow tests: full training, real processes, Chromium; properties on all examples
	$(BIN)/python -m pytest -m slow

test-spark: $(INSTALLED) ## Install the spark extra (pyspark, ~456 MB) and run the Spark local-mode test
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	$(BIN)/python -m pytest -m slow tests/serving/test_spark.py

lint: $(INSTALLED) ## ruff lint and format check
	$(BIN)/ruff check riskengine tests bench tools
	$(BIN)/ruff format --check riskengine tests bench tools

typecheck: $(INSTALLED) ## mypy on the package
	$(BIN)/mypy

format: $(INSTALLED) ## Format the code with ruff
	$(BIN)/ruff format riskengine tests bench tools
	$(BIN)/ruff check --fix riskengine tests bench tools

reference: $(INSTALLED) ## Validate the reference data and print its fingerprint
	$(RISKENGINE) reference check

features: $(INSTALLED) ## Feature snapshot of INPUT as of AS_OF into features/
	$(RISKENGINE) features $(INPUT) --as-of $(AS_OF) --buyer-country $(BUYER_COUNTRY) \
		-o features/features_$(AS_OF).parquet

train: $(INSTALLED) ## Train on the public-events panel and register the model in MLflow
	$(RISKENGINE) train

retrain: $(INSTALLED) ## Rebuild, validate, refit, register; promote only if better on the same folds
	$(RISKENGINE) reference check
	$(RISKENGINE) retrain

backtest: $(INSTALLED) ## Decision-level validation (6 months ahead) vs simple baselines, logged to MLflow
	$(RISKENGINE) backtest

labels: $(INSTALLED) ## Positives and rows of the public-events panel per year and country
	$(RISKENGINE) labels summary

score: $(INSTALLED) ## Score INPUT into OUTPUT as of AS_OF with the champion model
	@mkdir -p $(dir $(OUTPUT))
	$(RISKENGINE) score $(INPUT) --as-of $(AS_OF) --buyer-country $(BUYER_COUNTRY) -o $(OUTPUT)

score-bom: $(INSTALLED) ## Score the demo BOM (BOM=..., INPUT=sourcing) into outputs/products.csv
	@mkdir -p outputs
	$(RISKENGINE) score-bom $(or $(BOM),$(DEMO_BOM)) --sourcing $(INPUT) --as-of $(AS_OF) \
		--buyer-country $(BUYER_COUNTRY) -o outputs/products.csv --lines outputs/bom_lines.csv

# What changed between two runs: the demo scored as of OLD_AS_OF and NEW_AS_OF, then diffed.
.PHONY: diff
diff: $(INSTALLED) ## Score the demo as of OLD_AS_OF and NEW_AS_OF; list what changed and why
	@mkdir -p outputs
	$(RISKENGINE) train --if-missing
	$(RISKENGINE) score $(DEMO_SOURCING) --as-of $(OLD_AS_OF) --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o outputs/demo_scores_$(OLD_AS_OF).csv
	$(RISKENGINE) score $(DEMO_SOURCING) --as-of $(NEW_AS_OF) --buyer-country $(BUYER_COUNTRY) \
		--buyer "$(DEMO_BUYER)" -o outputs/demo_scores_$(NEW_AS_OF).csv
	$(RISKENGINE) diff outputs/demo_scores_$(OLD_AS_OF).csv outputs/demo_scores_$(NEW_AS_OF).csv \
		--buyer "$(DEMO_BUYER)" -o outputs/demo_changes.csv

report: $(INSTALLED) ## HTML report of the demo's outputs (run make demo first)
	$(RISKENGINE) report $(DEMO_REPORT_INPUTS) -o outputs/demo_report.html

.PHONY: alternatives
alternatives: $(INSTALLED) ## Other producing countries for the demo's high and critical pairs (make demo first)
	$(RISKENGINE) alternatives outputs/demo_scores.csv --bom $(DEMO_BOM) --buyer "$(DEMO_BUYER)" \
		-o $(DEMO_ALTERNATIVES)

browser: ## Install Debian's chromium (for the report's render check) if it is missing
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; fi

report-check: $(INSTALLED) browser ## Render the demo report in headless Chromium; check charts, sections; PNG
	$(RISKENGINE) report $(DEMO_REPORT_INPUTS) -o outputs/demo_report.html
	$(BIN)/python -m tools.report_check outputs/demo_report.html --screenshot outputs/demo_report.png \
		--require stress --require alternatives --require changes

screening: $(INSTALLED) ## Precision and recall of listed-entity name screening on the labelled pairs
	$(RISKENGINE) screening-eval tests/data/name_pairs.csv

bench: $(INSTALLED) ## Benchmarks at 1M rows against in-process baselines (needs a trained model)
	$(BIN)/python -m bench.run

SERVE_PORT ?= 8000
.PHONY: serve

serve: $(INSTALLED) ## The buyers' page on 127.0.0.1, port SERVE_PORT (8000); trains first if no model
	$(RISKENGINE) train --if-missing
	$(RISKENGINE) serve --port $(SERVE_PORT) --work-dir outputs/serve

ui: $(INSTALLED) ## Open the MLflow UI on the local store (http://127.0.0.1:5000, PORT=...)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/models/mlflow.db --port $(PORT)

clean: ## Remove outputs, the local MLflow store and feature snapshots (keeps .venv)
	rm -rf outputs models/mlflow.db models/artifacts features/*.parquet
