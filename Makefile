# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUDY := fixtures/plmsc-spms
OUT := build/plmsc-spms

.PHONY: demo test bench bench-more fuzz clean

$(BIN)/trialbridge: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "trialbridge needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null \
		|| { rm -rf $(VENV) && scripts/apt-install python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/trialbridge
	$(BIN)/trialbridge convert $(STUDY) --out $(OUT) --format xpt,json,fhir
	$(BIN)/trialbridge roundtrip $(OUT)/sdtm

test: $(BIN)/trialbridge
	scripts/need-chromium
	$(BIN)/ruff check trialbridge tests bench fuzz
	$(BIN)/ruff format --check trialbridge tests bench fuzz
	$(BIN)/pytest -n auto --dist loadfile

# Submission scale: every stage on a scaled copy of the study (2,000 subjects, 1M LB records)
# beside the floors (pyreadstat, pyarrow, orjson), the whole convert at 1/16, 1/4 and 1x, and
# an ODM export of 10 million ItemData read as source tables; the tables and the target
# ratios are printed and written to build/bench/
bench: $(BIN)/trialbridge
	$(BIN)/python -m bench.stages --subjects 2000
	$(BIN)/python -m bench.odm --items 10000000
	$(BIN)/python -m bench.hostile

# The single-purpose benchmarks: FHIR build + validation of a million-row LB, the validator
# with planted defects, and push throughput against a real FHIR server
bench-more: $(BIN)/trialbridge
	$(BIN)/python -m bench.fhir --rows 1000000
	$(BIN)/python -m bench.validate --rows 1000000
	$(BIN)/python -m bench.push --rows 10000

# Coverage-guided fuzzing (atheris) of every reader of hostile files, FUZZ_SECONDS each, one
# target after another (FUZZ_TARGETS="xpt odm" for some); prints the inputs run, the seconds
# and the findings per target, and keeps each finding's input in build/fuzz/<target>/
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: $(BIN)/trialbridge
	@$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/pip install --quiet -e '.[test,fuzz]'
	$(BIN)/python -m fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(VENV) build

# The PLMSC fixture as one ODM 1.3.2 export and one REDCap export, from the CSV records and
# the design fixtures/plmsc-spms/edc.yaml (tests check the committed files are what this writes)
.PHONY: fixtures-edc
fixtures-edc: $(BIN)/trialbridge
	$(BIN)/python -m bench.edc_export $(STUDY)/edc.yaml \
		--odm fixtures/plmsc-spms-odm/raw/plmsc-spms.odm.xml --redcap fixtures/plmsc-spms-redcap/raw
