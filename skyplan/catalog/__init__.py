"""The catalog: regions, offerings, egress rates and quotas that the solver prices a plan with."""

from skyplan.catalog.load import load_catalog, load_embedded_catalog
from skyplan.catalog.models import Catalog, EgressRate, Offering, Quota, Region

__all__ = [
    "Catalog",
    "EgressRate",
    "Offering",
    "Quota",
    "Region",
    "load_catalog",
    "load_embedded_catalog",
]
