"""Conformance validation: rules as data (trialbridge/sdtm/rules/*.yaml), a small vocabulary
of vectorised operations (one per module in operations/), and reports."""
