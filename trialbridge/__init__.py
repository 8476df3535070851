"""trialbridge: clinical trial native records to CDISC SDTM, from one declarative study."""

__version__ = "0.1.0"
