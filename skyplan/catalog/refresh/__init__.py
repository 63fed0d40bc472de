"""Rebuilding the catalog from the clouds' own price, capacity and quota APIs.

Imported only by `skyplan catalog refresh` and `skyplan catalog quotas`; each cloud's SDK is
imported inside the function that calls it.
"""
