"""SDTM <-> FHIR R4 mapping tables, one per domain (data, used in both directions)."""
