"""SDTM: standards metadata, datasets, derivations and file formats."""
