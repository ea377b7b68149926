"""The catalog export end to end against a real database: incremental == full, validation gates publishing."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from lxml import etree

from shopsync.catalog import pipeline, snapshot
from shopsync.catalog.feeds.yml import RozetkaYmlWriter
from shopsync.catalog.guards import ShrinkGuardError, StaleDataError
from shopsync.catalog.validation.rules import FeedValidationError
from shopsync.catalog.workspace import ShopWorkspace
from shopsync.core.config import ShopSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning
from shopsync.seed import seed_database

GOODS = 150
FEEDS = ["TSGoods.trs", "rozetka.xml", "prom.xml", "yml.xml", "woocommerce.csv", "customers.csv",
         "wholesale_prices.csv", "gift_certificates.csv"]


def shop(published: Path, **overrides) -> ShopSettings:
    settings = {
        "id": "demo", "name": "Демо", "url": "https://demo.example", "warehouses": [1, 2],
        "feeds": [
            {"profile": "torgsoft_csv", "delta": True, "characteristic_columns": {"material_verha": "Матеріал верху"}},
            {"profile": "rozetka_yml"}, {"profile": "prom_yml"}, {"profile": "yml"}, {"profile": "woocommerce_csv"},
            {"profile": "customers_csv"}, {"profile": "wholesale_prices_csv"}, {"profile": "gift_certificates_csv"},
        ],
        "destination": {"kind": "local", "path": str(published)},
        "orders_inbox": {"kind": "local", "path": str(published.parent / "inbox")},
    }
    settings.update(overrides)
    return ShopSettings.model_validate(settings)


def export(engine, settings: ShopSettings, end: datetime, full: bool = False, dry_run: bool = False,
           start: datetime | None = None, tuning: Tuning = DEFAULT_TUNING) -> dict:
    start = start or end - timedelta(hours=1)
    run = pipeline.ExportRun(shop=settings, interval_start=start, interval_end=end, full=full, tuning=tuning)
    return pipeline.run_export(engine, run, dry_run=dry_run)


def digests(directory: Path) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in FEEDS}


def execute(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def change_the_catalog(engine) -> None:
    """Re-pricing, stock movements, a reservation, a deactivation, a deletion, a new characteristic."""
    execute(engine, "UPDATE prices SET price = price + 10 WHERE good_id IN (3, 4) AND price_type_id = 1")
    execute(engine, "UPDATE stock SET on_hand = on_hand + 7 WHERE good_id = 5 AND warehouse_id = 1")
    execute(engine, "UPDATE goods SET is_visible = false WHERE id = 6")
    execute(engine, "DELETE FROM goods WHERE id = 7")
    execute(engine, "UPDATE good_characteristics SET value = 'оновлено' WHERE good_id = 8")
    execute(engine, "UPDATE customers SET bonus_balance = bonus_balance + 1 WHERE id = 1")
    with engine.begin() as conn:
        invoice = conn.execute(sa.text(
            "INSERT INTO invoices (shop_id, external_number) VALUES ('demo', 'T-1') RETURNING id")).scalar_one()
        conn.execute(sa.text("INSERT INTO invoice_lines (invoice_id, line_no, good_id, quantity) VALUES (:i, 1, 9, 1)"),
                     {"i": invoice})
        warehouse = conn.execute(sa.text(
            "SELECT warehouse_id FROM free_stock WHERE good_id = 9 AND free >= 1 ORDER BY warehouse_id LIMIT 1"
        )).scalar_one()
        conn.execute(sa.text("INSERT INTO reservations (invoice_id, line_no, good_id, warehouse_id, quantity)"
                             " VALUES (:i, 1, 9, :w, 1)"), {"i": invoice, "w": warehouse})


def full_rebuild_digests(engine, local_dir: Path, monkeypatch, end: datetime) -> dict[str, str]:
    """The feeds a full export of the same database state publishes from a fresh workspace."""
    monkeypatch.setenv("SHOPSYNC_LOCAL_DIR", str(local_dir / "elsewhere"))
    export(engine, shop(local_dir / "elsewhere" / "published"), end, full=True)
    return digests(local_dir / "elsewhere" / "published")


@pytest.fixture
def seeded(engine, local_dir):
    seed_database(engine, goods=GOODS, seed=7)
    return engine


def test_incremental_run_equals_a_full_rebuild_byte_for_byte(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")   # the seed is seconds old; keep it out
    settings = shop(local_dir / "published")
    start = datetime.now(UTC).replace(microsecond=0)
    first = export(seeded, settings, start, full=True)
    assert first["changed"]["goods"] == GOODS
    window_start = datetime.now(UTC)
    change_the_catalog(seeded)

    end = start + timedelta(minutes=5)
    incremental = export(seeded, settings, end, start=window_start)
    assert incremental["changed"]["goods"] == 7            # goods 3, 4, 5, 6, 7, 8, 9: not the catalog
    assert (first["feed_pass"], incremental["feed_pass"]) == ("full", "incremental")
    assert digests(local_dir / "published") == full_rebuild_digests(seeded, local_dir, monkeypatch, end)


def test_changes_reach_the_feeds(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    settings = shop(local_dir / "published")
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    window_start = datetime.now(UTC)
    change_the_catalog(seeded)
    export(seeded, settings, start + timedelta(minutes=5), start=window_start)
    offers = {o.get("id"): o for o in etree.parse(str(local_dir / "published" / "rozetka.xml")).iter("offer")}
    assert "7" not in offers and "6" not in offers              # deleted and hidden goods leave the feed
    with seeded.connect() as conn:
        price = conn.execute(sa.text("SELECT price FROM prices WHERE good_id = 4 AND price_type_id = 1")).scalar()
        free = conn.execute(sa.text("SELECT floor(sum(free)) FROM free_stock WHERE good_id = 9"
                                    " AND warehouse_id IN (1, 2)")).scalar()
    assert offers["4"].findtext("price") == f"{price:.2f}"
    assert offers["9"].findtext("stock_quantity") == str(int(free))
    delta = (local_dir / "published" / "TSGoods.delta.trs").read_text(encoding="utf-8")
    delta_ids = {line.split(";")[0].strip('"') for line in delta.splitlines()[1:]}
    assert delta_ids == {"3", "4", "5", "6", "8", "9"}          # 7 was deleted; 6 comes with Display 0


def test_same_interval_twice_publishes_the_same_content(seeded, local_dir):
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    first = digests(local_dir / "published")
    export(seeded, settings, end)
    assert digests(local_dir / "published") == first


def test_a_bad_good_is_excluded_and_listed_with_skip(seeded, local_dir):
    summary = export(seeded, shop(local_dir / "published"), datetime.now(UTC).replace(microsecond=0), full=True)
    assert summary["rejected_by_reason"] == {"price is 0": 1}
    report = Path(summary["report"]).read_text(encoding="utf-8")
    assert "price is 0" in report and f"| {GOODS} |" in report


def test_fail_policy_blocks_the_feed_and_keeps_the_last_good_one(seeded, local_dir):
    published = local_dir / "published"
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published), end, full=True)
    good = digests(published)
    manifest = (published / "manifest.json").read_bytes()
    execute(seeded, "UPDATE stock SET on_hand = on_hand + 1")           # a change that would be published
    with pytest.raises(FeedValidationError, match="price is 0"):
        export(seeded, shop(published, on_bad_item="fail"), end + timedelta(minutes=5))
    assert digests(published) == good
    assert (published / "manifest.json").read_bytes() == manifest


def _build(seeded, run: pipeline.ExportRun) -> pipeline.ExportRun:
    """The stages up to and including build_feeds (what the DAG runs before validate)."""
    for dataset in pipeline.DATASETS:
        pipeline.extract_dataset(seeded, run, dataset)
    pipeline.extract_categories(seeded, run)
    pipeline.resize_photos(run)
    for dataset in pipeline.DATASETS:
        pipeline.merge_dataset(run, dataset)
    pipeline.build_feeds(run)
    return run


def _build_next_run(seeded, settings, end):
    return _build(seeded, pipeline.ExportRun(shop=settings, interval_start=end,
                                             interval_end=end + timedelta(minutes=5)))


@pytest.mark.parametrize("chunk", [None, 7], ids=["whole", "in chunks of 7 offers"])
def test_a_feed_failing_great_expectations_is_not_published(seeded, local_dir, monkeypatch, chunk):
    published = local_dir / "published"
    settings = shop(published)
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    good = digests(published)
    original = RozetkaYmlWriter.render

    def render_first_offer_twice(self, batch, ctx, feed_settings):
        rendered = original(self, batch, ctx, feed_settings)
        fragments = rendered.fragments.to_pylist()
        first, second = [index for index, fragment in enumerate(fragments) if fragment][:2]
        fragments[second] = fragments[first]                 # a writer bug: the same offer twice
        return dataclasses.replace(rendered, fragments=pa.array(fragments, pa.string()))

    monkeypatch.setattr(RozetkaYmlWriter, "render", render_first_offer_twice)
    run = _build_next_run(seeded, settings, end)
    with pytest.raises(FeedValidationError) as failure:
        pipeline.validate_feeds(dataclasses.replace(run, tuning=run.tuning.but(validate_chunk_offers=chunk)) if chunk
                                else run)
    report = run.run_dir_path("validation-report.md").read_text(encoding="utf-8")
    assert "expect_column_values_to_be_unique" in report
    assert "validation-report.md" in str(failure.value)
    assert digests(published) == good


def test_a_feed_changed_after_it_was_written_is_not_published(seeded, local_dir):
    published = local_dir / "published"
    settings = shop(published)
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    good = digests(published)
    run = _build_next_run(seeded, settings, end)
    feed = run.workspace.out_dir(run.key) / "rozetka.xml"
    text = feed.read_text(encoding="utf-8")
    first_offer = text[text.index("<offer "):text.index("</offer>") + len("</offer>")]
    feed.write_text(text.replace(first_offer, first_offer + first_offer, 1), encoding="utf-8")
    with pytest.raises(FeedValidationError):
        pipeline.validate_feeds(run)
    report = run.run_dir_path("validation-report.md").read_text(encoding="utf-8")
    assert "changed after it was written" in report
    assert digests(published) == good


def test_missing_photos_leave_no_dead_picture_links(seeded, local_dir):
    published = local_dir / "published"
    export(seeded, shop(published), datetime.now(UTC).replace(microsecond=0), full=True)
    problems = json.loads(next((local_dir / "shops" / "demo" / "runs").glob("*/photo-problems.json")).read_text())
    assert problems and all(p["reason"] for p in problems)
    broken = {(p["good_id"]) for p in problems}
    for offer in etree.parse(str(published / "rozetka.xml")).iter("offer"):
        for picture in offer.findall("picture"):
            name = picture.text.rsplit("/", 2)
            assert (published / "photos" / name[-2] / name[-1]).is_file(), picture.text
    assert broken


def test_dry_run_publishes_nothing(seeded, local_dir):
    export(seeded, shop(local_dir / "published"), datetime.now(UTC).replace(microsecond=0), full=True, dry_run=True)
    assert not (local_dir / "published").exists()


def test_a_retried_merge_after_a_full_extract_gives_the_same_snapshot(seeded, local_dir):
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    run = pipeline.ExportRun(shop=settings, interval_start=end - timedelta(hours=1), interval_end=end, full=True)
    pipeline.extract_dataset(seeded, run, "goods")
    pipeline.resize_photos(run)
    first = pipeline.merge_dataset(run, "goods")
    snapshot_bytes = run.workspace.snapshot("goods").read_bytes()
    second = pipeline.merge_dataset(run, "goods")                 # the task retried after it had finished
    assert first["total"] == second["total"] == GOODS
    assert run.workspace.snapshot("goods").read_bytes() == snapshot_bytes


def test_old_run_directories_are_pruned(local_dir):
    workspace = ShopWorkspace("demo")
    for key in ("20261101T000000Z", "20261101T010000Z", "20261101T020000Z", "20261101T030000Z"):
        (workspace.run_dir(key) / "out").mkdir(parents=True)
        (workspace.run_dir(key) / "summary.json").write_text("{}")          # finished runs
    removed = pipeline.prune_runs(workspace, keep=2, current="20261101T000000Z")
    assert removed == ["20261101T010000Z"]
    assert sorted(p.name for p in (workspace.root / "runs").iterdir()) == [
        "20261101T000000Z", "20261101T020000Z", "20261101T030000Z"]


def test_pruning_never_deletes_a_run_that_is_still_working(local_dir, monkeypatch):
    workspace = ShopWorkspace("demo")
    working, abandoned, finished = "20261101T000000Z.cli-a", "20261101T010000Z.cli-b", "20261101T020000Z.cli-c"
    for key in (working, abandoned, finished):
        workspace.begin_stage(key)                        # what every stage does first
    (workspace.run_dir(finished) / "summary.json").write_text("{}")
    long_ago = datetime.now().timestamp() - 25 * 3600
    os.utime(workspace.lease_path(abandoned), (long_ago, long_ago))
    for key in ("20261102T000000Z.a", "20261102T010000Z.b"):
        workspace.begin_stage(key)
    removed = pipeline.prune_runs(workspace, keep=2, current="20261102T010000Z.b")
    assert removed == [abandoned, finished]
    assert workspace.run_dir(working).is_dir()            # older than the newest two, but its stages still run
    monkeypatch.setenv("SHOPSYNC_ABANDONED_RUN_HOURS", "0")
    assert pipeline.prune_runs(workspace, keep=2, current="20261102T010000Z.b") == [working]


def test_runs_of_one_interval_never_share_a_directory_but_a_dag_runs_tasks_do(local_dir):
    end = datetime(2026, 11, 1, 1, tzinfo=UTC)
    settings = shop(local_dir / "published")
    cli_a = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end)
    cli_b = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end)
    dag = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end, run_id="scheduled__2026-11-01T00:00")
    dag_retry = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end,
                                 run_id="scheduled__2026-11-01T00:00")
    backfill = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end, run_id="backfill__2026-11-01")
    assert len({cli_a.key, cli_b.key, dag.key, backfill.key}) == 4
    assert dag.key == dag_retry.key and dag.key.startswith("20261101T010000Z.scheduled-")


def test_parallel_read_back_gives_the_same_feeds_and_validation(seeded, local_dir, monkeypatch):
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    inline = digests(local_dir / "published")
    inline_offers = {path.name: path.read_bytes() for path in local_dir.glob("shops/demo/runs/*/offers/*")}

    tuning = DEFAULT_TUNING.but(render_batch=40, parallel_read_back_from_goods=0)   # batches read back by workers
    monkeypatch.setenv("SHOPSYNC_LOCAL_DIR", str(local_dir / "elsewhere"))
    summary = export(seeded, shop(local_dir / "elsewhere" / "published"), end, full=True, tuning=tuning)
    built = json.loads(next((local_dir / "elsewhere").glob("shops/demo/runs/*/feeds.json")).read_text())

    assert digests(local_dir / "elsewhere" / "published") == inline
    parallel_offers = {path.name: path.read_bytes()
                       for path in (local_dir / "elsewhere").glob("shops/demo/runs/*/offers/*")}
    assert {name: pq.read_table(io.BytesIO(data)) for name, data in parallel_offers.items()} == {
        name: pq.read_table(io.BytesIO(data)) for name, data in inline_offers.items()}
    assert summary["feed_pass"] == "full"
    assert len(summary["read_back_workers_peak_mb"]) == 1      # the XML was read back by a worker process
    write_stage = next(f for f in built if f["file"] == "rozetka.xml")
    assert write_stage["rows"] > 0


def test_the_pass_cache_is_not_used_after_a_category_change(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    settings = shop(local_dir / "published")
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    window_start = datetime.now(UTC)
    execute(seeded, "UPDATE categories SET name = name || ' (нова назва)' WHERE id IN (SELECT category_id FROM goods)")
    execute(seeded, "UPDATE prices SET price = price + 1 WHERE good_id = 3 AND price_type_id = 1")

    end = start + timedelta(minutes=5)
    incremental = export(seeded, settings, end, start=window_start)
    assert incremental["feed_pass"] == "full"                   # category paths are in every TSGoods line
    assert digests(local_dir / "published") == full_rebuild_digests(seeded, local_dir, monkeypatch, end)


def test_a_merge_whose_feeds_were_never_built_makes_the_next_pass_full(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    settings = shop(local_dir / "published")
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)

    window_start = datetime.now(UTC)
    execute(seeded, "UPDATE prices SET price = price + 1 WHERE good_id = 3 AND price_type_id = 1")
    lost = pipeline.ExportRun(shop=settings, interval_start=window_start, interval_end=start + timedelta(minutes=5))
    for dataset in pipeline.DATASETS:                             # a run that died after its merge
        pipeline.extract_dataset(seeded, lost, dataset)
        pipeline.merge_dataset(lost, dataset)

    execute(seeded, "UPDATE prices SET price = price + 1 WHERE good_id = 4 AND price_type_id = 1")
    end = start + timedelta(minutes=10)
    incremental = export(seeded, settings, end, start=datetime.now(UTC) - timedelta(seconds=1))
    assert incremental["feed_pass"] == "full"                   # the cache predates the lost run's merge
    assert digests(local_dir / "published") == full_rebuild_digests(seeded, local_dir, monkeypatch, end)


def test_the_same_run_built_twice_leaves_no_temporary_files(seeded, local_dir):
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    run = _build(seeded, pipeline.ExportRun(shop=settings, interval_start=end - timedelta(hours=1), interval_end=end,
                                          full=True))
    pipeline.build_feeds(run)                                      # a retried task
    assert sorted(path.name for path in (local_dir / "shops" / "demo" / "rendered").iterdir()) == [
        "TSGoods.trs", "catalog.arrow", "catalog.json", "prom.xml", "rozetka.xml", "yml.xml"]


def test_rebuilding_a_published_run_leaves_the_published_feeds_alone(seeded, local_dir):
    published = local_dir / "published"
    settings = shop(published)
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)                     # published by hard links to the run's files
    before = digests(published)
    execute(seeded, "UPDATE prices SET price = price + 10 WHERE price_type_id = 1")
    run = pipeline.ExportRun(shop=settings, interval_start=end - timedelta(hours=1), interval_end=end, full=True)
    pipeline.extract_dataset(seeded, run, "goods")                 # the same run again (a cleared task)
    pipeline.merge_dataset(run, "goods")
    pipeline.build_feeds(run)
    assert digests(published) == before                          # until it is published itself


def test_a_workspace_with_the_old_parquet_snapshot_is_rebuilt_in_full(seeded, local_dir):
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    workspace = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end).workspace
    arrow = workspace.snapshot("goods")
    old = arrow.with_suffix(".parquet")
    pq.write_table(snapshot.read_table(arrow), old)         # what a shop's workspace held before the IPC layout
    arrow.unlink()

    summary = export(seeded, settings, end + timedelta(hours=1), full=False)

    assert summary["changed"]["goods"] == GOODS                 # everything extracted again
    assert not old.exists() and snapshot.row_count(arrow) == GOODS


# --- the safety rails of publishing: shrink guard, publish order ------------------------------------------

def _rows(published: Path) -> dict[str, int]:
    return {entry["name"]: entry["rows"] for entry in json.loads((published / "manifest.json").read_text())["files"]}


def test_a_feed_losing_more_than_max_drop_percent_is_held_back_until_allowed(seeded, local_dir):
    published = local_dir / "published"
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published), end, full=True)
    good, rows = digests(published), _rows(published)
    execute(seeded, "UPDATE goods SET is_visible = false WHERE id % 2 = 0")        # half the offers leave

    with pytest.raises(ShrinkGuardError) as held:
        export(seeded, shop(published), end + timedelta(minutes=5))
    assert not held.value.retryable
    assert f"rozetka.xml: {rows['rozetka.xml']:,} ->" in str(held.value)
    assert "shopsync export --shop demo --allow-shrink" in str(held.value) and '{"allow_shrink": true}' in str(
        held.value)
    assert digests(published) == good

    run = pipeline.ExportRun(shop=shop(published), interval_start=end, interval_end=end + timedelta(minutes=10),
                           allow_shrink=True)
    pipeline.run_export(seeded, run)
    assert _rows(published)["rozetka.xml"] < rows["rozetka.xml"] * 0.6


def test_max_drop_percent_is_a_shop_setting(seeded, local_dir):
    published = local_dir / "published"
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published, max_drop_percent=60), end, full=True)
    rows = _rows(published)
    execute(seeded, "UPDATE goods SET is_visible = false WHERE id % 2 = 0")
    export(seeded, shop(published, max_drop_percent=60), end + timedelta(minutes=5))
    assert _rows(published)["rozetka.xml"] < rows["rozetka.xml"] * 0.6


def test_an_empty_database_never_replaces_live_feeds(seeded, local_dir):
    from shopsync import testing

    published = local_dir / "published"
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published), end, full=True)
    good = digests(published)
    testing.truncate_all(seeded)                                    # an unseeded or wiped database

    with pytest.raises(ShrinkGuardError, match=r"rozetka\.xml: [\d,]+ -> 0 rows \(-100\.0 %\)"):
        export(seeded, shop(published), end + timedelta(minutes=5), full=True)
    assert digests(published) == good


def test_customers_and_certificates_are_guarded_too(seeded, local_dir):
    published = local_dir / "published"
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published), end, full=True)
    execute(seeded, "UPDATE customers SET is_active = false")

    with pytest.raises(ShrinkGuardError, match=r"customers\.csv: [\d,]+ -> 0 rows"):
        export(seeded, shop(published), end + timedelta(minutes=5))


def _validated(seeded, settings, end) -> pipeline.ExportRun:
    run = _build(seeded, pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end + timedelta(minutes=5)))
    pipeline.validate_feeds(run)
    return run


def test_a_set_read_before_the_published_one_is_refused(seeded, local_dir):
    published = local_dir / "published"
    settings = shop(published)
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    slow = _validated(seeded, settings, end)                         # read, merged, built: not yet published
    execute(seeded, "UPDATE stock SET on_hand = on_hand + 3 WHERE good_id = 5")
    export(seeded, settings, end + timedelta(minutes=10))            # another run reads later, publishes first
    newer = digests(published)

    with pytest.raises(StaleDataError, match="newer data than this run read"):
        pipeline.publish_feeds(slow)
    assert digests(published) == newer
    manifest = json.loads((published / "manifest.json").read_text())
    assert set(manifest["database_position"]) == {"goods", "customers", "certificates"}


def test_changes_read_before_the_snapshot_are_not_merged(seeded, local_dir):
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    slow = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end + timedelta(minutes=5))
    pipeline.extract_dataset(seeded, slow, "goods")                    # reads stock...
    execute(seeded, "UPDATE stock SET on_hand = on_hand + 3 WHERE good_id = 5")
    export(seeded, settings, end + timedelta(minutes=10))            # ...another run reads and merges later
    snapshot_bytes = slow.workspace.snapshot("goods").read_bytes()

    with pytest.raises(StaleDataError, match="not merged"):
        pipeline.merge_dataset(slow, "goods")
    assert slow.workspace.snapshot("goods").read_bytes() == snapshot_bytes


def test_an_overtaken_export_starts_again_from_fresh_data(seeded, local_dir, monkeypatch):
    published = local_dir / "published"
    settings = shop(published)
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    original_validate = pipeline.validate_feeds
    overtaken: list[str] = []

    def validate_then_be_overtaken(run):
        if not overtaken:                                            # while the first run validates...
            overtaken.append(run.key)
            execute(seeded, "UPDATE stock SET on_hand = on_hand + 3 WHERE good_id = 5")
            export(seeded, settings, end + timedelta(minutes=10))    # ...another one publishes newer data
        return original_validate(run)

    monkeypatch.setattr(pipeline, "validate_feeds", validate_then_be_overtaken)
    execute(seeded, "UPDATE prices SET price = price + 1 WHERE good_id = 4 AND price_type_id = 1")
    summary = export(seeded, settings, end + timedelta(minutes=5), full=True)

    manifest = json.loads((published / "manifest.json").read_text())
    assert summary["run"] != overtaken[0] and manifest["run"] == summary["run"]
    offers = {o.get("id"): o for o in etree.parse(str(published / "rozetka.xml")).iter("offer")}
    with seeded.connect() as conn:
        free = conn.execute(sa.text("SELECT floor(sum(free)) FROM free_stock WHERE good_id = 5"
                                    " AND warehouse_id IN (1, 2)")).scalar()
    assert offers["5"].findtext("stock_quantity") == str(int(free))


def test_two_builds_of_one_shop_take_turns(seeded, local_dir):
    import threading

    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    run = pipeline.ExportRun(shop=settings, interval_start=end, interval_end=end + timedelta(minutes=5))
    for dataset in pipeline.DATASETS:
        pipeline.extract_dataset(seeded, run, dataset)
        pipeline.merge_dataset(run, dataset)
    started = threading.Event()

    def build_while_another_holds_the_lock():
        started.set()
        pipeline.build_feeds(run)

    with run.workspace.build_lock():                # another run's build
        builder = threading.Thread(target=build_while_another_holds_the_lock)
        builder.start()
        started.wait(10)
        builder.join(2)
        assert builder.is_alive()                   # waits its turn
    builder.join(120)
    assert not builder.is_alive() and run.run_dir_path("feeds.json").exists()


def test_temporary_files_of_killed_runs_are_swept_but_not_of_living_ones(local_dir):
    workspace = ShopWorkspace("demo")
    dead, alive = "20261101T000000Z.cli-dead", "20261101T000000Z.cli-alive"
    with workspace.holding_run(dead):
        pass                                                   # its process is gone: the lock is free
    for key in (dead, alive):
        (workspace.run_dir(key) / "changes").mkdir(parents=True, exist_ok=True)
        (workspace.run_dir(key) / "changes" / "goods.arrow.tmp").write_bytes(b"half written")
        (workspace.run_dir(key) / "changes" / "goods.ids.json").write_text("{}")
    workspace.snapshot_dir.mkdir(parents=True)
    (workspace.snapshot_dir / "goods.arrow.tmp").write_bytes(b"a merge killed mid-write")
    with workspace.holding_run(alive):
        removed = workspace.sweep_dead_runs()
    assert sorted(str(path.relative_to(workspace.root)) for path in removed) == [
        f"runs/{dead}/changes/goods.arrow.tmp", "snapshot/goods.arrow.tmp"]
    assert (workspace.run_dir(alive) / "changes" / "goods.arrow.tmp").exists()
    assert (workspace.run_dir(dead) / "changes" / "goods.ids.json").exists()


# --- what a shop shows is what the database says, after any change (issue 11) ------------------------------

def offers_of(path: Path) -> dict[str, etree._Element]:
    return {offer.get("id"): offer for offer in etree.parse(str(path)).iter("offer")}


def database_stock(engine, warehouses: list[int]) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT g.id, greatest(0, floor(coalesce(sum(f.free), 0)))::int AS free FROM goods g"
            " LEFT JOIN free_stock f ON f.good_id = g.id AND f.warehouse_id = ANY(:w) GROUP BY g.id"),
            {"w": warehouses})
        return {str(row.id): row.free for row in rows}


def rename_a_characteristic_kind(engine) -> None:
    execute(engine, "UPDATE characteristic_kinds SET name = name || ' (нова назва)' WHERE id = (SELECT kind_id"
                    " FROM good_characteristics GROUP BY kind_id ORDER BY count(*) DESC, kind_id LIMIT 1)")


def rename_a_category(engine) -> None:
    execute(engine, "UPDATE categories SET name = name || ' (нова назва)'"
                    " WHERE id = (SELECT min(category_id) FROM goods)")


def rename_a_model_group(engine) -> None:
    execute(engine, "UPDATE model_groups SET name = 'Модель перейменована'"
                    " WHERE id = (SELECT min(model_group_id) FROM goods)")


def goods_affected(engine, change: str) -> int:
    sql = {
        "kind": "SELECT count(DISTINCT good_id) FROM good_characteristics WHERE kind_id = (SELECT kind_id"
                " FROM good_characteristics GROUP BY kind_id ORDER BY count(*) DESC, kind_id LIMIT 1)",
        "model group": "SELECT count(*) FROM goods WHERE model_group_id = (SELECT min(model_group_id) FROM goods)",
    }[change]
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


@pytest.mark.parametrize("change", ["kind", "category", "model group", "warehouses setting"])
def test_incremental_run_after_a_rename_or_a_setting_change_equals_a_full_rebuild(seeded, local_dir, monkeypatch,
                                                                                   change):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    settings = shop(local_dir / "published")
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    window_start = datetime.now(UTC)
    if change == "kind":
        rename_a_characteristic_kind(seeded)
    elif change == "category":
        rename_a_category(seeded)
    elif change == "model group":
        rename_a_model_group(seeded)
    else:
        settings = shop(local_dir / "published", warehouses=[1])

    end = start + timedelta(minutes=5)
    incremental = export(seeded, settings, end, start=window_start)
    if change in ("kind", "model group"):                   # only the goods that carry the renamed thing
        assert incremental["changed"]["goods"] == goods_affected(seeded, change) < GOODS
    if change == "model group":
        woo = (local_dir / "published" / "woocommerce.csv").read_text(encoding="utf-8")
        assert "Модель перейменована" in woo
    if change == "warehouses setting":
        assert incremental["changed"]["goods"] == GOODS     # the setting alone made the run full
    published = digests(local_dir / "published")
    monkeypatch.setenv("SHOPSYNC_LOCAL_DIR", str(local_dir / "elsewhere"))
    export(seeded, shop(local_dir / "elsewhere" / "published", warehouses=settings.warehouses), end, full=True)
    assert published == digests(local_dir / "elsewhere" / "published")


def test_fewer_warehouses_publish_the_right_stock_for_every_offer(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    published = local_dir / "published"
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published, warehouses=[1, 2]), start, full=True)
    export(seeded, shop(published, warehouses=[1, 2]), start + timedelta(minutes=5), start=datetime.now(UTC))

    summary = export(seeded, shop(published, warehouses=[1]), start + timedelta(minutes=10), start=datetime.now(UTC))

    stock = database_stock(seeded, [1])
    offers = offers_of(published / "rozetka.xml")
    assert {good_id: int(offer.findtext("stock_quantity")) for good_id, offer in offers.items()} == {
        good_id: stock[good_id] for good_id in offers}
    assert summary["changed"]["goods"] == GOODS                     # the setting alone made the run full


def test_a_reseed_makes_the_next_run_full_and_leaves_no_ghost_goods(seeded, local_dir):
    published = local_dir / "published"
    settings = shop(published, max_drop_percent=100)            # a third fewer goods: the shrink guard allows it
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    seed_database(seeded, goods=GOODS - 50, seed=7)         # the last 50 goods are gone, change_log starts again
    with seeded.connect() as conn:
        remaining, last_id = conn.execute(sa.text("SELECT count(*), max(id) FROM goods")).one()

    summary = export(seeded, settings, start + timedelta(minutes=5))

    assert summary["changed"]["goods"] == remaining == GOODS - 50
    workspace = ShopWorkspace("demo")
    assert snapshot.row_count(workspace.snapshot("goods")) == remaining
    assert max(int(good_id) for good_id in offers_of(published / "rozetka.xml")) <= last_id


def test_a_truncated_table_makes_the_next_run_full(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    settings = shop(local_dir / "published", max_drop_percent=100)    # the wholesale prices go: allowed here
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    execute(seeded, "TRUNCATE reservations, wholesale_tiers")      # nothing in change_log says so

    summary = export(seeded, settings, start + timedelta(minutes=5), start=datetime.now(UTC))

    assert summary["changed"]["goods"] == GOODS
    assert summary["changed"]["customers"] > 0                      # every data set is read again


def test_a_change_the_change_log_never_saw_blocks_the_publish_and_the_next_run_is_full(seeded, local_dir,
                                                                                       monkeypatch):
    from shopsync.core.errors import PermanentError

    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")     # the seed's changes are seconds old
    published = local_dir / "published"
    settings = shop(published)
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    good = digests(published)
    with seeded.begin() as conn:                # triggers off: no change_log row (a restore script, a replica)
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text("UPDATE stock SET on_hand = on_hand + 5 WHERE good_id = 12"))

    with pytest.raises(FeedValidationError, match="disagree with the database") as blocked:
        export(seeded, settings, start + timedelta(minutes=5), start=datetime.now(UTC))
    assert isinstance(blocked.value, PermanentError) and not blocked.value.retryable
    assert "good 12: stock" in str(blocked.value)
    assert digests(published) == good

    summary = export(seeded, settings, start + timedelta(minutes=10), start=datetime.now(UTC))
    assert summary["changed"]["goods"] == GOODS                      # rebuilt in full
    assert int(offers_of(published / "rozetka.xml")["12"].findtext("stock_quantity")) == \
        database_stock(seeded, [1, 2])["12"]


def test_a_good_the_snapshot_lacks_blocks_the_publish_by_its_count(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    published = local_dir / "published"
    settings = shop(published)
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, start, full=True)
    with seeded.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text("INSERT INTO goods (id, name, category_id) SELECT 100000, 'Невидимка', category_id"
                             " FROM goods WHERE id = 1"))

    with pytest.raises(FeedValidationError, match=f"goods: {GOODS} in the feeds, {GOODS + 1} in the database"):
        export(seeded, settings, start + timedelta(minutes=5), start=datetime.now(UTC))


def test_a_good_changed_between_extract_and_validate_does_not_block(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    settings = shop(local_dir / "published")
    end = datetime.now(UTC).replace(microsecond=0)
    export(seeded, settings, end, full=True)
    run = _build_next_run(seeded, settings, end)
    with seeded.connect() as conn:
        first, second = conn.execute(sa.text(
            "SELECT g.id FROM goods g JOIN prices p ON p.good_id = g.id AND p.price_type_id = 1 AND p.price > 0"
            " WHERE g.is_active AND g.is_visible ORDER BY g.id LIMIT 2")).scalars()
    execute(seeded, "UPDATE stock SET on_hand = on_hand + 5 WHERE good_id = :g", g=first)  # a delivery, now
    execute(seeded, "UPDATE goods SET is_visible = false WHERE id = :g", g=second)

    result = pipeline.validate_feeds(run, seeded)

    assert result["database"]["excused"] == 2
    assert result["database"]["sampled"] == GOODS - 1                 # every good but the rejected one


def test_a_run_blocked_by_validation_keeps_its_changes_for_the_next_delta(seeded, local_dir, monkeypatch):
    monkeypatch.setenv("SHOPSYNC_EXTRACT_OVERLAP_SECONDS", "0")
    published = local_dir / "published"
    start = datetime.now(UTC).replace(microsecond=0)
    export(seeded, shop(published), start, full=True)
    execute(seeded, "UPDATE prices SET price = price + 10 WHERE good_id = 3 AND price_type_id = 1")
    with pytest.raises(FeedValidationError):                  # the seed's price-0 good blocks this run
        export(seeded, shop(published, on_bad_item="fail"), start + timedelta(minutes=5),
               start=datetime.now(UTC))

    window_start = datetime.now(UTC)
    execute(seeded, "UPDATE prices SET price = price + 10 WHERE good_id = 4 AND price_type_id = 1")
    export(seeded, shop(published), start + timedelta(minutes=10), start=window_start)

    delta = (published / "TSGoods.delta.trs").read_text(encoding="utf-8")
    assert {line.split(";")[0].strip('"') for line in delta.splitlines()[1:]} == {"3", "4"}


@pytest.mark.parametrize("sizes, detail_size, linked", [
    ([("small", 200), ("big", 800)], None, "big"),            # no size named 'detail': the largest
    ([("small", 200), ("big", 800)], "small", "small"),       # the one the settings name
])
def test_picture_links_use_the_detail_size_the_settings_name(seeded, local_dir, sizes, detail_size, linked):
    published = local_dir / "published"
    photos = {"sizes": [{"name": name, "width": side, "height": side} for name, side in sizes]}
    if detail_size:
        photos["detail_size"] = detail_size
    export(seeded, shop(published, photos=photos), datetime.now(UTC).replace(microsecond=0), full=True)
    pictures = [picture.text for offer in offers_of(published / "rozetka.xml").values()
                for picture in offer.findall("picture")]
    assert pictures
    for url in pictures:
        size, name = url.rsplit("/", 2)[-2:]
        assert size == linked and (published / "photos" / size / name).is_file(), url


def test_a_cp1251_feed_takes_huge_values_and_reports_what_it_cannot_encode(seeded, local_dir):
    published = local_dir / "published"
    settings = shop(published, feeds=[
        {"profile": "torgsoft_csv", "encoding": "cp1251",
         "characteristic_columns": {"material_verha": "Матеріал верху"}},
        {"profile": "woocommerce_csv", "encoding": "cp1251"},
        {"profile": "customers_csv", "encoding": "cp1251"},
    ])
    huge = "Опис " * 220_000                                   # about 1 MB
    execute(seeded, "UPDATE goods SET description = :d WHERE id = (SELECT coalesce(min(g.id), 3) FROM goods g"
                    " WHERE g.model_group_id = (SELECT model_group_id FROM goods WHERE id = 3))", d=huge)
    execute(seeded, "UPDATE good_characteristics SET value = :v WHERE good_id = 4 AND kind_id = (SELECT id FROM"
                    " characteristic_kinds WHERE name = 'Матеріал верху')", v="шкіра " * 40_000)
    execute(seeded, "UPDATE goods SET name = 'М\u02bcята сумка \U0001F600' WHERE id = 5")

    summary = export(seeded, settings, datetime.now(UTC).replace(microsecond=0), full=True)

    assert summary["unencodable"]["TSGoods.trs"]["count"] >= 1
    assert "U+1F600 \U0001F600" in summary["unencodable"]["TSGoods.trs"]["examples"]
    assert "TSGoods.trs: " in "\n".join(pipeline.summary_lines(summary))
    tsgoods = (published / "TSGoods.trs").read_bytes()
    assert "М’ята сумка ?".encode("cp1251") in tsgoods and b"\x92" in tsgoods
    woo = (published / "woocommerce.csv").read_bytes().decode("cp1251")
    assert huge.strip() in woo
