"""`shopsync orders`: an unknown shop is the one-line error of every command; a closed pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa
from test_cli import SHOPS, assert_clean_error, run_cli


def test_orders_of_an_unknown_shop_is_the_unknown_shop_error(engine, db_url):
    env = {"SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": str(SHOPS)}
    result = run_cli("orders", "--shop", "nosuchshop", env=env)
    assert result.returncode == 2
    assert_clean_error(result, "no shop 'nosuchshop'", "(known: demo")


def many_invoices(engine, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO invoices (shop_id, external_number, total)"
                             " SELECT 'demo', 'PIPE-' || n, n FROM generate_series(1, :count) AS n"), {"count": count})


def test_orders_into_head_ends_quietly(engine, db_url):
    many_invoices(engine, 3000)                # far more output than a pipe holds: the writer meets a closed pipe
    env = {**os.environ, "SHOPSYNC_DB_URL": db_url, "SHOPSYNC_SHOPS_DIR": str(SHOPS)}
    result = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m shopsync.cli orders --shop demo | head -1'],
        capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.startswith(" invoice order")
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_any_command_into_a_closed_pipe_ends_quietly(tmp_path):
    env = {**os.environ, "SHOPSYNC_SHOPS_DIR": str(SHOPS)}
    reader, writer = os.pipe()
    os.close(reader)                            # nobody will read: the first write or the flush fails
    try:
        result = subprocess.run([sys.executable, "-m", "shopsync.cli", "shops"], stdout=writer,
                                stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 141             # as a shell reports a writer ended by SIGPIPE
