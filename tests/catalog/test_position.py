"""Database positions (pg_current_snapshot) compare as the database's history: a later read is never older."""

from __future__ import annotations

import sqlalchemy as sa

from shopsync.catalog.position import is_older, older_datasets


def snapshot_now(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_current_snapshot()::text")).scalar_one()


def write_something(conn) -> None:
    conn.execute(sa.text("UPDATE price_types SET name = name WHERE id = (SELECT min(id) FROM price_types)"))
    conn.execute(sa.text("SELECT pg_current_xact_id()"))              # a transaction id of its own


def test_a_read_after_a_commit_is_newer(engine):
    before = snapshot_now(engine)
    with engine.begin() as conn:
        write_something(conn)
    after = snapshot_now(engine)
    assert is_older(before, after) and not is_older(after, before)
    assert not is_older(after, after)


def test_a_transaction_that_commits_between_two_reads_makes_the_second_newer(engine):
    long_running = engine.connect()
    transaction = long_running.begin()
    write_something(long_running)                                     # in progress: in the first read's xip
    before = snapshot_now(engine)
    transaction.commit()
    long_running.close()
    after = snapshot_now(engine)
    assert is_older(before, after) and not is_older(after, before)


def test_same_xmax_but_a_transaction_finished_in_between_is_newer():
    # what the test above gives when no other transaction id was handed out meanwhile (xmax alone cannot tell)
    assert is_older("100:105:100,103", "101:105:103")
    assert not is_older("101:105:103", "100:105:100,103")
    assert is_older("100:105:100", "100:107:100,106")                # 105 committed, 106 still running


def test_unknown_positions_are_never_older():
    assert not is_older(None, "10:12:") and not is_older("10:12:", None)
    assert older_datasets({"goods": "10:12:", "customers": "10:12:"}, {"goods": "13:13:"}) == ["goods"]
