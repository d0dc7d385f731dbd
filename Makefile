# The two commands of the quick start; each sets up ./.venv first (scripts/setup.sh, idempotent).
#   make demo   set up, then the main job: adding-task data at L=100, AlarmworkNet, the table
#   make test   set up, then the test suite
PYTHON ?= python3
BIN := .venv/bin

.PHONY: setup demo test
setup:
	@bash scripts/setup.sh $(PYTHON)

demo: setup
	$(BIN)/rnnlab gen-data --L 100
	$(BIN)/rnnlab train alarmwork
	$(BIN)/rnnlab report accuracy

test: setup
	$(BIN)/pytest
