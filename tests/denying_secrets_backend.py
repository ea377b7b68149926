"""An Airflow secrets backend that refuses every lookup (an authoritative deny), for tests."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
from airflow.secrets import BaseSecretsBackend


class DenyingBackend(BaseSecretsBackend):
    def get_connection(self, conn_id: str):
        raise AirflowSecretsBackendAccessDenied(f"access to {conn_id} denied")

    def get_conn_value(self, conn_id: str) -> str | None:
        raise AirflowSecretsBackendAccessDenied(f"access to {conn_id} denied")
