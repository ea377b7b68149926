"""The catalog pass: every catalog feed of a shop rendered from its goods snapshot in one streaming pass,
read back as it is written, and remembered per good (see catalog_pass.py).

Empty on purpose: the read-back worker process (`python -m shopsync.catalog.render.read_back_worker`)
imports this package and must stay small (lxml only).
"""
