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


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def hostile_shop(tmp_path: Path, shop_id: str, **changes) -> Path:
    from shop_files import shop_settings, write_shop

    shops = tmp_path / "shops"
    shops.mkdir(exist_ok=True)
    data = shop_settings(shop_id, **changes)
    data["destination"]["path"] = str(tmp_path / "published")
    data["orders_inbox"]["path"] = str(tmp_path / "inbox")
    return write_shop(shops, data)


def isolated_env(tmp_path: Path, db_url: str) -> dict[str, str]:
    local = tmp_path / "local"
    local.mkdir(exist_ok=True)
    return {"SHOPSYNC_SHOPS_DIR": str(tmp_path / "shops"), "SHOPSYNC_LOCAL_DIR": str(local),
            "SHOPSYNC_PHOTOS_DIR": str(local / "photos"), "SHOPSYNC_DB_URL": db_url}


@pytest.mark.parametrize(("changes", "key"), [
    ({"feeds.0.file": "../../../escaped.trs"}, "feeds.0.file"),
    ({"feeds.0.file": "manifest.json"}, "feeds.0.file"),
    ({"photos.sizes.0.name": "../../escaped"}, "photos.sizes.0.name"),
])
def test_export_dry_run_of_a_shop_with_an_escaping_name_writes_nothing(tmp_path, db_url, changes, key):
    path = hostile_shop(tmp_path, "hostile", **changes)
    env = isolated_env(tmp_path, db_url)
    before = tree(tmp_path)

    result = run_cli("export", "--shop", "hostile", "--dry-run", env=env)

    assert result.returncode == 2
    assert_clean_error(result, f"{path}: {key}: ")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("command", [
    ["export", "--shop", "../outside", "--dry-run"],
    ["ingest", "--shop", "../outside", "--dry-run", "orders.json"],
    ["replay", "--shop", "../outside", "orders.json"],
    ["orders", "--shop", "../outside"],
])
def test_a_shop_option_that_is_not_a_shop_id_is_refused_before_anything_is_read(tmp_path, db_url, command):
    outside = hostile_shop(tmp_path, "outside")           # a valid shop file, one level above the shops directory
    outside.rename(tmp_path / outside.name)
    (tmp_path / "orders.json").write_text("[]", encoding="utf-8")
    env = isolated_env(tmp_path, db_url)
    before = tree(tmp_path)

    result = run_cli(*command, env=env)

    assert result.returncode == 2
    assert_clean_error(result, "--shop: '../outside' is not a shop id")
    assert tree(tmp_path) == before


def test_shops_names_the_file_and_key_of_an_invalid_cron_schedule(tmp_path):
    path = hostile_shop(tmp_path, "late", schedule="0 25 * * *")
    result = run_cli("shops", env={"SHOPSYNC_SHOPS_DIR": str(path.parent)})
    assert result.returncode == 2
    assert_clean_error(result, f"{path}: schedule: '0 25 * * *' is not a valid cron expression")


@pytest.mark.parametrize("name", ["../../outside.json", "/nonexistent/x.json", "sub/x.json", ".."])
def test_replay_takes_only_a_file_name_of_the_quarantine(tmp_path, db_url, name):
    hostile_shop(tmp_path, "shop")
    inbox = tmp_path / "inbox"
    (inbox / "quarantine").mkdir(parents=True)
    (tmp_path / "outside.json").write_text("[]", encoding="utf-8")
    env = isolated_env(tmp_path, db_url)
    before = tree(tmp_path)

    result = run_cli("replay", "--shop", "shop", name, env=env)

    assert result.returncode == 2
    assert_clean_error(result, f"name: {name!r} must")
    assert tree(tmp_path) == before


def test_replay_of_a_name_that_is_not_utf8_is_one_line(tmp_path, db_url):
    hostile_shop(tmp_path, "shop")
    (tmp_path / "inbox" / "quarantine").mkdir(parents=True)
    name = "caf\udce9.json"             # the bytes b"caf\xe9.json" as Python passes them on
    env = isolated_env(tmp_path, db_url)
    before = tree(tmp_path)

    result = run_cli("replay", "--shop", "shop", name, env=env)

    assert result.returncode == 2
    assert_clean_error(result, f"name: {name!r} is not valid UTF-8")
    assert tree(tmp_path) == before
