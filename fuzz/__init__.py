"""Coverage-guided fuzzing of the readers that take hostile files (`make fuzz`): not part of
the installed package.

Each module in `targets/` feeds one input's bytes to the entry point a command uses on such a
file (the XPT and Dataset-JSON readers, define.xml, the CSV, XLSX, ODM and REDCap source
readers, study.yaml, mapping specs, FHIR NDJSON and Bundles). `harness` decides what counts as
a finding; `worker` runs one target under atheris (libFuzzer); `runner` runs every target for
a fixed time, one after another, and prints what each found."""
