"""Shop settings check: an Airflow DAG file with no dag of its own; its import error lists the invalid shop files.

catalog_export.py and orders_ingest.py build DAGs for the valid shop files only, so one broken file never
takes the other shops' DAGs down. Airflow records import errors per DAG file and marks every DAG of a file
with an import error stale (not scheduled), so the broken files are reported here, in a file without DAGs:
the UI's "DAG Import Errors" shows `dags/shop_settings.py` with one line per invalid file, naming the file
and the key to fix. The error goes away with the next parse after the file is fixed (or `shopsync shops`
shows the same lines at once). See docs/decisions.md, "One broken shop file".
"""

from __future__ import annotations

from shopsync.airflow.tasks import raise_for_invalid_shop_files

raise_for_invalid_shop_files()
