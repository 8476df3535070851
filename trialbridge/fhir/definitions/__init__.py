"""FHIR R4 facts the validator checks, as data."""
