"""The safety rails a publish passes before anything is sent: the publish order rule and the shrink guard.

Both compare this run's feed set with the last one PUBLISHED to the shop's destination (its manifest.json,
read under the shop's publish lock; the workspace's copy of it when the destination has none).
"""

from __future__ import annotations

from shopsync.catalog.position import older_datasets
from shopsync.core.errors import PermanentError

DEFAULT_MAX_DROP_PERCENT = 20.0


class StaleDataError(PermanentError):
    """This run read the database before the state the shop's snapshot or destination already shows.

    Permanent for the task: a retry of the same task reads the same (old) run files. `shopsync export`
    starts again from fresh data by itself; in Airflow the next run publishes fresh data.
    """


class ShrinkGuardError(PermanentError):
    """A feed would lose more than max_drop_percent of the offers of the last published one."""


def override_hint(shop_id: str, flag: str, param: str) -> str:
    return (f"If this is intended: shopsync export --shop {shop_id} --{flag.replace('_', '-')}, "
            f'or trigger the DAG shop_{shop_id}__catalog_export with {{"{param}": true}}.')


def check_publish_order(shop_id: str, ours: dict[str, str], published: dict | None) -> None:
    """Refuse a feed set read from the database before the one already published (StaleDataError)."""
    theirs = (published or {}).get("database_position") or {}
    older = older_datasets(ours, theirs)
    if older:
        raise StaleDataError(
            f"shop {shop_id}: nothing published: the destination already shows newer data than this run read "
            f"({', '.join(f'{name}: {ours[name]} < {theirs[name]}' for name in older)}; published at "
            f"{(published or {}).get('published_at', '?')}). Another export of this shop published after this "
            f"run read the database; the next run publishes fresh data. After a database restore to an earlier "
            f"state: {override_hint(shop_id, 'ignore_publish_order', 'ignore_publish_order')}")


def shrinking_feeds(rows_now: dict[str, int], published: dict | None, max_drop_percent: float) -> list[str]:
    """One line per feed that would lose more than max_drop_percent of the last published one's rows."""
    before = {entry["name"]: entry.get("rows") for entry in (published or {}).get("files", [])}
    lines = []
    for name, rows in sorted(rows_now.items()):
        previous = before.get(name)
        if not previous or previous <= 0:
            continue
        drop = 100.0 * (previous - rows) / previous
        if drop > max_drop_percent:
            lines.append(f"{name}: {previous:,} -> {rows:,} rows (-{drop:.1f} %)")
    return lines


def check_shrink(shop_id: str, rows_now: dict[str, int], published: dict | None, max_drop_percent: float) -> None:
    lines = shrinking_feeds(rows_now, published, max_drop_percent)
    if lines:
        raise ShrinkGuardError(
            f"shop {shop_id}: nothing published: {len(lines)} feed(s) would lose more than max_drop_percent "
            f"{max_drop_percent:g} % of the rows of the set published at {(published or {}).get('published_at', '?')}"
            f" ({'; '.join(lines)}). The published feeds stay as they were. An empty or half-loaded database "
            f"looks like this: check the accounting database first. "
            + override_hint(shop_id, "allow_shrink", "allow_shrink"))
