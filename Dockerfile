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
# Airflow's plugins folder stays the image's default (/opt/airflow/plugins, empty): Airflow imports every
# .py file there as a top-level module, so pointing it at our package would shadow stdlib names and load
# every module twice. The package is pip-installed instead.

# The package first (changes less often than DAGs and settings).
COPY --chown=airflow:0 pyproject.toml /opt/airflow/project/pyproject.toml
COPY --chown=airflow:0 plugins/ /opt/airflow/project/plugins/
RUN pip install --no-cache-dir --no-deps -e /opt/airflow/project \
    && mkdir -p /opt/airflow/project/.local

COPY --chown=airflow:0 include/ /opt/airflow/project/include/
COPY --chown=airflow:0 dags/ /opt/airflow/project/dags/
