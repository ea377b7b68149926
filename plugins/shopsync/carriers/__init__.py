"""Carriers by API: Nova Poshta and Ukrposhta waybills, tracking, cash on delivery; their directories."""
