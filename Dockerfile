# shopsync image: the official Airflow image + our pinned requirements + the shopsync package, DAGs and
# include/ baked in, so every Airflow container (scheduler, dag-processor, each Celery worker) runs the
# same code. The tag must match apache-airflow in requirements.txt (tests/test_docker_compose.py checks).
FROM apache/airflow:3.3.2-python3.11

USER airflow

# Official pattern: pin apache-airflow to the image's version so pip can never up- or downgrade it.
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt

# shopsync.paths.project_root() honours SHOPSYNC_HOME (include/sql, include/shops, relative shop paths);
# SHOPSYNC_LOCAL_DIR (snapshots, feeds, local inboxes, photos) is a volume in docker-compose.yml.
ENV SHOPSYNC_HOME=/opt/airflow/project
ENV SHOPSYNC_LOCAL_DIR=/opt/airflow/project/.local
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/project/dags
ENV AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/project/plugins

# The package first (changes less often than DAGs and settings): editable, so the import path and
# Airflow's plugins folder are the same files.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/project/pyproject.toml
COPY --chown=airflow:0 plugins/ /opt/airflow/project/plugins/
RUN pip install --no-cache-dir --no-deps -e /opt/airflow/project \
    && mkdir -p /opt/airflow/project/.local

COPY --chown=airflow:0 include/ /opt/airflow/project/include/
COPY --chown=airflow:0 dags/ /opt/airflow/project/dags/
