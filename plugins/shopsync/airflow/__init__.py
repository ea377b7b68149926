"""The only room that imports Airflow: task glue (tasks.py) and alerts (alerts.py).

Named shopsync.airflow: absolute imports (`import airflow`, `from airflow.sdk import ...`) inside it still get
Apache Airflow, because Python 3 has no implicit relative imports (tests/test_layers.py checks it).
"""
