"""Results back to the elder and family: a plain-language notice after a kiosk visit, sent
through the personal channels and tracked until delivered within the tenant's deadline."""

from gateway.results.compose import compose
from gateway.results.desk import CHANNEL, ResultsDesk, visits
from gateway.results.settings import ResultsSettings

__all__ = ["CHANNEL", "ResultsDesk", "ResultsSettings", "compose", "visits"]
