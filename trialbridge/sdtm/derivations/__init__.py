"""Generic SDTM derivations, one per module, driven by the study definition and metadata."""
