# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUDY := fixtures/plmsc-spms
OUT := build/plmsc-spms

.PHONY: demo test bench bench-stages clean

$(BIN)/trialbridge: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "trialbridge needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) \
		|| { echo "'$(PYTHON) -m venv' failed; on Debian: apt-get install python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/trialbridge
	$(BIN)/trialbridge convert $(STUDY) --out $(OUT) --format xpt,json,fhir
	$(BIN)/trialbridge roundtrip $(OUT)/sdtm

test: $(BIN)/trialbridge
	$(BIN)/ruff check trialbridge tests bench
	$(BIN)/ruff format --check trialbridge tests bench
	$(BIN)/pytest

# FHIR build + validation on a million-row LB (resources/s); push throughput against a real
# FHIR server beside its raw ingest rate; an ODM export of 10 million ItemData read as source
# tables (time, peak memory); results in build/bench/
bench: $(BIN)/trialbridge
	$(BIN)/python -m bench.fhir --rows 1000000
	$(BIN)/python -m bench.validate --rows 1000000
	$(BIN)/python -m bench.push --rows 10000
	$(BIN)/python -m bench.odm --items 10000000

# Every stage on a scaled copy of the study (2,000 subjects, 1M LB records) beside the floors
# (pyreadstat, pyarrow, orjson), and the whole convert at 1/16, 1/4 and 1x; work in progress
# (issue 8): the 1x run takes longer than `make bench` may
bench-stages: $(BIN)/trialbridge
	$(BIN)/python -m bench.stages --subjects 2000

clean:
	rm -rf $(VENV) build
