"""Validation before anything is published: item rules (rules.py) before the feeds are written, then each
WRITTEN feed read back (read_back.py) and checked by a Great Expectations suite (checks.py, suite.py,
results.py), the report (report.py), the helper process (worker.py) and the feeds against the database
(database.py). Importing the package is cheap: pandas, lxml and great_expectations load when first used.
"""
