"""The CLI: one clear line on stderr and a non-zero exit for operator mistakes, no tracebacks, no secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHOPS = Path(__file__).resolve().parents[1] / "include" / "shops"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "shopsync.cli", *args], capture_output=True, text=True, env=full_env, timeout=120
    )


def assert_clean_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0]


def test_unreachable_database_is_one_line_without_password():
    result = run_cli("db", "init", env={"SHOPSYNC_DB_URL": "postgresql://shop:s3cr3t@127.0.0.1:1/accounting"})
    assert_clean_error(result, "does not answer", "127.0.0.1:1")
    assert "s3cr3t" not in result.stderr + result.stdout


def test_malformed_database_url_is_one_line():
    result = run_cli("db", "init", env={"SHOPSYNC_DB_URL": "not a url at all"})
    assert_clean_error(result, "invalid accounting database URL")


def test_db_init_then_again_is_a_no_op(db_url):
    first = run_cli("db", "init", env={"SHOPSYNC_DB_URL": db_url})
    assert first.returncode == 0, first.stderr
    assert "nothing to do" in first.stdout


def test_shops_lists_the_demo_shop_and_its_file():
    result = run_cli("shops", env={"SHOPSYNC_SHOPS_DIR": str(SHOPS)})
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout
    assert str(SHOPS / "demo.yaml") in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id: broken\nname: x\nurl: https://x.example\n", "feeds: Field required"),
        ("id: broken\nname: x\nurl: ftp://x\nfeeds: [{profile: yml}]\n"
         "destination: {kind: local, path: out}\norders_inbox: {kind: local, path: in}\n",
         "url: must start with http"),
        ("id: broken\nname: x\nurl: https://x.example\nfeeds: [{profile: csv_of_dreams}]\n"
         "destination: {kind: local, path: out}\norders_inbox: {kind: local, path: in}\n",
         "feeds.0.profile"),
        ("id: broken\nname: x\nurl: https://x.example\nfeeds: [{profile: yml}]\n"
         "destination: {kind: ftp, path: /feeds}\norders_inbox: {kind: local, path: in}\n",
         "needs conn_id"),
        ("id: other\nname: x\nurl: https://x.example\nfeeds: [{profile: yml}]\n"
         "destination: {kind: local, path: out}\norders_inbox: {kind: local, path: in}\n",
         "must match the file name"),
        ("id: broken\nname: x\nurl: https://x.example\nfeeds: [{profile: yml}]\ncolour: blue\n"
         "destination: {kind: local, path: out}\norders_inbox: {kind: local, path: in}\n",
         "colour: Extra inputs are not permitted"),
        ("id: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_shop_file_names_file_and_key(tmp_path, content, expected):
    (tmp_path / "broken.yaml").write_text(content, encoding="utf-8")
    result = run_cli("shops", env={"SHOPSYNC_SHOPS_DIR": str(tmp_path)})
    assert_clean_error(result, str(tmp_path / "broken.yaml"), expected)
