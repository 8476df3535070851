"""Talking to FHIR servers: authentication, a retrying transport, push and pull."""
