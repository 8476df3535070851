"""The fuzz targets by name: the module that defines each (as TARGET) and the packages
instrumented for coverage when it runs. Importing this registry imports no target, so the
worker can instrument the project's modules before they are loaded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrumented:
    module: str
    packages: tuple[str, ...] = ("trialbridge",)


# in the order `make fuzz` runs them
TARGETS = {
    "xpt": Instrumented("xpt"),
    "datasetjson": Instrumented("datasetjson"),
    "datasetjson_ndjson": Instrumented("datasetjson_ndjson"),
    "define": Instrumented("define"),
    "odm": Instrumented("odm"),
    "redcap": Instrumented("redcap"),
    "csv": Instrumented("csv_source"),
    "xlsx": Instrumented("xlsx_source", ("trialbridge", "openpyxl")),
    "study_yaml": Instrumented("study_yaml", ("trialbridge", "yaml")),
    "spec": Instrumented("spec", ("trialbridge", "yaml")),
    "fhir_ndjson": Instrumented("fhir_ndjson"),
    "fhir_bundle": Instrumented("fhir_bundle"),
}
