"""The thin layer between Airflow and shopsync: connections, run context, DAG defaults, alerts.

With shopsync.airflow.alerts, the only modules of the package that import Airflow (lazily,
inside functions), so the rest runs and is tested without a scheduler.
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shopsync.core.config import ShopSettings, scan_shops

log = logging.getLogger(__name__)

ACCOUNTING_CONN_ID = "shopsync_accounting"
ACCOUNTING_CONN_ENV = "AIRFLOW_CONN_SHOPSYNC_ACCOUNTING"
STOCK_CHANGED_ASSET = "shopsync_stock_changed"


def default_args(shop: ShopSettings) -> dict[str, Any]:
    from shopsync.airflow.alerts import make_failure_alert

    return {
        "on_failure_callback": make_failure_alert(shop.alert_emails, shop.id),
        "retry_policy": fail_fast_policy(),
        "owner": shop.owner,
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=30),
    }


def fail_fast_policy():
    """Airflow's retry policy for every task: a PermanentError (bad settings, a feed blocked by validation,
    a shrink guard) fails the task at once, with one alert; anything else retries as `retries` says."""
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    from shopsync.core.errors import PermanentError

    return ExceptionRetryPolicy(rules=[RetryRule(
        exception=PermanentError, action=RetryAction.FAIL,
        reason="a permanent error: the same run would fail the same way again, so it is not retried",
    )])


def shop_task(function: Callable[..., Any]) -> Callable[..., Any]:
    """The body of every shopsync task (under @task): a database lost mid-run (connection terminated, server
    restarted, database dropped) becomes DatabaseUnavailable, one clear line, which the task retries."""
    from shopsync.airflow.connections import connection_from_airflow
    from shopsync.core.db import database_failures_as_unavailable
    from shopsync.runtime.memory import use_jemalloc_for_arrow
    from shopsync.transport.connections import use_task_connections

    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def generator_body(*args: Any, **kwargs: Any) -> Any:
            use_task_connections(connection_from_airflow)
            use_jemalloc_for_arrow()
            with database_failures_as_unavailable():
                return (yield from function(*args, **kwargs))

        generator_body.shopsync_task = True    # type: ignore[attr-defined]
        return generator_body

    @functools.wraps(function)
    def body(*args: Any, **kwargs: Any) -> Any:
        use_task_connections(connection_from_airflow)
        use_jemalloc_for_arrow()
        with database_failures_as_unavailable():
            return function(*args, **kwargs)

    body.shopsync_task = True    # type: ignore[attr-defined]
    return body


def shops_to_build(dag_suffix: str) -> list[ShopSettings]:
    """Shops whose DAG a DAG file builds: all valid ones, or only the one a task run is for (`dag_suffix` may
    be a pattern: `*_sync` for one DAG per channel).

    An invalid shop file is skipped here (one broken file must not take the other shops' DAGs down);
    dags/shop_settings.py reports it as that file's import error.
    """
    from airflow.sdk import get_parsing_context

    wanted = get_parsing_context().dag_id
    shops, problems = scan_shops()
    for problem in problems:
        log.warning("shop skipped, its settings are invalid: %s", problem)
    return [shop for shop in shops if not wanted or fnmatch.fnmatchcase(wanted, f"shop_{shop.id}__{dag_suffix}")]


def raise_for_invalid_shop_files() -> None:
    """The import error of dags/shop_settings.py: one line per invalid shop file, naming the file and key."""
    from shopsync.core.errors import ConfigError

    _, problems = scan_shops()
    if problems:
        lines = [f"{len(problems)} shop settings file(s) invalid; their shops have no DAGs until fixed:"]
        raise ConfigError("\n".join(lines + [str(problem) for problem in problems]))


def accounting_db_url() -> str:
    """The Airflow Connection `shopsync_accounting` if defined, else SHOPSYNC_DB_URL / the embedded server.

    Only "not defined" falls back: a connection that cannot be read (a secrets backend refusing, a
    broken definition) is an error, never a reason to work on another database.
    """
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from shopsync.core.db import resolve_db_url
    from shopsync.core.errors import DatabaseUrlError

    try:
        conn = Connection.get(ACCOUNTING_CONN_ID)
    except AirflowNotFoundException:
        if ACCOUNTING_CONN_ENV in os.environ:   # Airflow reports an unreadable definition as "not defined"
            raise DatabaseUrlError(f"{ACCOUNTING_CONN_ENV} is set, but Airflow cannot read it as a connection "
                                   "(a URI such as postgresql://user:password@host:5432/db, or JSON)") from None
        log.warning("no Airflow Connection %r; using SHOPSYNC_DB_URL or the embedded server", ACCOUNTING_CONN_ID)
        return resolve_db_url()
    uri = conn.get_uri()
    for airflow_scheme in ("postgres://", "postgresql+psycopg2://"):
        if uri.startswith(airflow_scheme):
            uri = "postgresql://" + uri[len(airflow_scheme):]
    return uri


def accounting_engine():
    from shopsync.core.db import get_engine

    return get_engine(accounting_db_url())


def data_interval(context: dict[str, Any]) -> tuple[datetime, datetime]:
    """The run's data interval; runs without one (asset-triggered, some manual) end at the run's start."""
    start = context.get("data_interval_start")
    end = context.get("data_interval_end")
    if start is not None and end is not None:
        return start, end
    dag_run = context["dag_run"]
    anchor = dag_run.run_after or dag_run.start_date
    return anchor - timedelta(hours=1), anchor


def export_run(shop_id: str, context: dict[str, Any]):
    from shopsync.catalog.run import ExportRun
    from shopsync.core.config import get_shop

    start, end = data_interval(context)
    params = context.get("params") or {}
    full = bool(params.get("full", False))
    run_id = str(context.get("run_id") or getattr(context.get("dag_run"), "run_id", "") or "")
    return ExportRun(shop=get_shop(shop_id), interval_start=start, interval_end=end, full=full, run_id=run_id,
                     allow_shrink=bool(params.get("allow_shrink", False)),
                     ignore_publish_order=bool(params.get("ignore_publish_order", False)))


def silence_noisy_libraries() -> None:
    import os

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")


def ingest_run(shop_id: str, engine, context: dict[str, Any]) -> dict:
    """One ingest DAG run: the inbox's ready files, plus the interval's archived files for backfills."""
    from shopsync.core.config import get_shop
    from shopsync.core.paths import project_root
    from shopsync.core.tuning import DEFAULT_TUNING
    from shopsync.orders.inbox import open_inbox
    from shopsync.orders.ingest import ingest_inbox
    from shopsync.orders.outcome import IngestSummary
    from shopsync.orders.replay import reapply_interval

    shop = get_shop(shop_id)
    dag_run = context["dag_run"]
    reprocess = bool((context.get("params") or {}).get("reprocess_interval")) or "backfill" in str(dag_run.run_type)
    tuning = DEFAULT_TUNING
    inbox = open_inbox(shop.orders_inbox, project_root(), tuning=tuning)
    try:
        summary = ingest_inbox(engine, shop, inbox, tuning=tuning)
        if reprocess:
            start, end = data_interval(context)
            again = reapply_interval(engine, shop, inbox, start, end, tuning=tuning)
            summary = IngestSummary(files=summary.files + again.files)
    finally:
        inbox.close()
    counts = summary.counts()
    log.info("orders ingest of %s: %s", shop_id, ", ".join(f"{k}={v}" for k, v in counts.items()))
    return {
        "counts": counts,
        "reserved_goods": summary.reserved_goods,
        "files": [outcome.summary_line() for outcome in summary.files],
        "quarantined": [outcome.destination for outcome in summary.files if outcome.quarantined],
        "conflicts": summary.conflicts(),
    }


def channel_step(shop_id: str, kind: str, step: str) -> dict | None:
    """One step of a channel sync DAG run (pull, push, stock) with the shop's settings as they are now;
    None when the shop file turns that step off."""
    from shopsync.core.config import get_shop
    from shopsync.orders import channel_sync

    shop = get_shop(shop_id)
    summary = channel_sync.STEPS[step](accounting_engine(), shop, shop.channel(kind))
    return None if summary is None else summary.as_json()


def carrier_directories_to_build() -> list[tuple[str, ShopSettings]]:
    """(carrier kind, the first shop using it) for each carrier with a directory that any valid shop uses: the
    directory is the carrier's, one DAG each; the shop gives the connection, owner and alert addresses. Only
    the one a task run is for."""
    from airflow.sdk import get_parsing_context

    from shopsync.carriers.base import DIRECTORY_KINDS

    wanted = get_parsing_context().dag_id
    if wanted and not wanted.startswith("carrier_directory__"):
        return []
    shops, _ = scan_shops()       # invalid shop files: reported by dags/shop_settings.py
    first: dict[str, ShopSettings] = {}
    for shop in shops:
        for carrier in shop.carriers:
            if carrier.kind in DIRECTORY_KINDS:
                first.setdefault(carrier.kind, shop)
    return [(kind, shop) for kind, shop in first.items() if not wanted or wanted == f"carrier_directory__{kind}"]


def directory_refresh(kind: str) -> dict:
    """One weekly refresh of a carrier's directory (settings and connection of the first shop using it, now)."""
    from shopsync.carriers.directory import open_directory, refresh

    return refresh(accounting_engine(), open_directory(kind)).as_json()
