"""Marketplaces and shop platforms by API: one package per channel, a shared client and the binder."""
