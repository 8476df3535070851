"""Trial design (TS, TA, TE, TV, TI) from study.yaml, and subject-level SE and SV from data."""
