"""Remote ECG consultation in the service: requests, worklist, reports, FHIR export."""

from gateway.consult.service import Consultations

__all__ = ["Consultations"]
