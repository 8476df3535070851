"""SDTMIG 3.4 variable metadata and a CDISC CT subset, shipped as data files."""
