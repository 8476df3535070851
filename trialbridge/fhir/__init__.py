"""SDTM <-> FHIR R4 through the mapping tables in trialbridge/mappings/fhir."""
