"""The elder's record in FHIR R4: resources, the `$everything` Bundle, the patient summary
document, and the push of the record to the regional health-information platform."""

from gateway.fhir.problems import KNOWN, Problem, problems_of
from gateway.fhir.record import PatientRecord, everything, load_record
from gateway.fhir.summary import summary_document

__all__ = [
    "KNOWN",
    "PatientRecord",
    "Problem",
    "everything",
    "load_record",
    "problems_of",
    "summary_document",
]
