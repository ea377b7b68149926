"""The foundation every room stands on: settings, paths, errors, database, schema, the SQL loader.

Imports no pipeline (catalog, orders) and no Airflow (checked by the import-linter contracts in pyproject.toml).
"""
