"""Declarative mapping specs: the language (spec.py) and the tables shipped as data."""
