# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUDY := fixtures/plmsc-spms
OUT := build/plmsc-spms

.PHONY: demo test lint clean

$(BIN)/trialbridge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/trialbridge
	$(BIN)/trialbridge convert $(STUDY) --out $(OUT)

test: $(BIN)/trialbridge
	$(BIN)/ruff check trialbridge tests
	$(BIN)/ruff format --check trialbridge tests
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build
