"""`shopsync categories export|import`: a marketplace's category map as CSV, round trip, every problem with its
line before anything changes, and an import that is all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from test_cli import SHOPS

from shopsync import cli
from shopsync.catalog import category_files

HEADER = "category_id,category_path,external_id,external_name\n"


@pytest.fixture
def shop_db(engine, db_url, monkeypatch):
    """The demo shop's settings, and four categories of ours: Взуття with Кросівки, Черевики and an inactive one."""
    monkeypatch.setenv("SHOPSYNC_DB_URL", db_url)
    monkeypatch.setenv("SHOPSYNC_SHOPS_DIR", str(SHOPS))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO categories (id, parent_id, name, is_active) VALUES"
                             " (1, NULL, 'Взуття', true), (2, 1, 'Кросівки', true), (3, 1, 'Черевики, шкіра', true),"
                             " (4, 1, 'Старе', false)"))
    return engine


def add_rows(engine, key: str, rows: dict[int, tuple[str, str | None]]) -> None:
    with engine.begin() as conn:
        for category, (external_id, external_name) in rows.items():
            conn.execute(sa.text("INSERT INTO shop_category_map (shop_id, category_id, external_id, external_name)"
                                 " VALUES (:k, :c, :e, :n)"), {"k": key, "c": category, "e": external_id,
                                                               "n": external_name})


def map_of(engine, key: str) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT category_id, external_id, external_name FROM shop_category_map"
                                    " WHERE shop_id = :k"), {"k": key})
        return {row.category_id: (row.external_id, row.external_name) for row in rows}


def categories(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["categories", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def import_file(capsys, tmp_path: Path, content: str | bytes, channel: str = "rozetka") -> tuple[int, str, str]:
    path = tmp_path / "map.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return categories(capsys, "import", "--shop", "demo", "--channel", channel, str(path))


def test_export_lists_every_category_of_ours_mapped_or_not(shop_db, capsys):
    add_rows(shop_db, "demo/rozetka", {2: ("4630", "Кросівки та кеди")})

    code, out, err = categories(capsys, "export", "--shop", "demo", "--channel", "rozetka")

    assert code == 0 and err == ""
    assert out == (HEADER + "1,Взуття,,\n" + "2,Взуття > Кросівки,4630,Кросівки та кеди\n"
                   + '3,"Взуття > Черевики, шкіра",,\n' + "4,Взуття > Старе (inactive),,\n")


def test_export_of_a_channel_without_rows_shows_the_shop_map_it_falls_back_to(shop_db, capsys):
    add_rows(shop_db, "demo", {3: ("77", None)})

    code, out, err = categories(capsys, "export", "--shop", "demo", "--channel", "prom")

    assert code == 0
    assert '3,"Взуття > Черевики, шкіра",77,\n' in out
    assert "demo/prom has no rows of its own" in err and "shop-level map demo" in err


def test_export_then_import_round_trips_and_counts_what_changed(shop_db, capsys, tmp_path):
    code, out, _ = import_file(capsys, tmp_path, HEADER + "2,,4630,Кросівки та кеди\n3,,5120,\n1,,,\n")
    assert (code, out) == (0, "demo/rozetka: mapped 2, cleared 0, unchanged 0\n")
    assert map_of(shop_db, "demo/rozetka") == {2: ("4630", "Кросівки та кеди"), 3: ("5120", None)}

    _, exported, _ = categories(capsys, "export", "--shop", "demo", "--channel", "rozetka")
    code, out, _ = import_file(capsys, tmp_path, exported)
    assert (code, out) == (0, "demo/rozetka: mapped 0, cleared 0, unchanged 2\n")
    assert categories(capsys, "export", "--shop", "demo", "--channel", "rozetka")[1] == exported

    edited = exported.replace(",4630,Кросівки та кеди", ",4631,Кросівки").replace(",5120,", ",,")
    code, out, _ = import_file(capsys, tmp_path, edited)
    assert (code, out) == (0, "demo/rozetka: mapped 1, cleared 1, unchanged 0\n")
    assert map_of(shop_db, "demo/rozetka") == {2: ("4631", "Кросівки")}
    assert map_of(shop_db, "demo/prom") == {}                  # one channel's import leaves the others alone


def test_a_file_with_a_bom_and_semicolons_is_read(shop_db, capsys, tmp_path):
    content = "\ufeffcategory_id;category_path;external_id;external_name\r\n2;Взуття > Кросівки;4630;Кеди\r\n"
    code, out, _ = import_file(capsys, tmp_path, content)
    assert (code, out) == (0, "demo/rozetka: mapped 1, cleared 0, unchanged 0\n")
    assert map_of(shop_db, "demo/rozetka") == {2: ("4630", "Кеди")}


def test_categories_the_file_leaves_out_are_cleared_and_an_empty_map_falls_back(shop_db, capsys, tmp_path):
    add_rows(shop_db, "demo", {2: ("1", None)})
    add_rows(shop_db, "demo/rozetka", {2: ("10", None), 3: ("11", None)})

    code, out, _ = import_file(capsys, tmp_path, "category_id,external_id\n")

    assert code == 0
    assert out.splitlines() == ["demo/rozetka: mapped 0, cleared 2, unchanged 0",
                                "demo/rozetka has no rows now: its feeds fall back to the shop-level map demo "
                                "(1 categories mapped there)"]
    assert map_of(shop_db, "demo/rozetka") == {}


@pytest.mark.parametrize(("content", "problem"), [
    (HEADER + "2,,10,\n99,,11,\n", "line 3: category 99 is not one of ours"),
    (HEADER + "2,,10,\n\n2,,11,\n", "line 4: category 2 is listed twice (first on line 2)"),
    (HEADER + "2,,,Кросівки\n", "line 2: external_name 'Кросівки' without an external_id"),
    (HEADER + "2,x,10\n", "line 2: 3 fields, the header has 4"),
    (HEADER + "2,,10,\n3,\"Взуття\" x,11,\n", "line 3: malformed CSV"),
    (HEADER + "two,,10,\n", "line 2: category_id 'two' is not a category number"),
    ("id,external\n2,10\n", "line 1: unknown column(s) 'id', 'external'"),
    ("category_id,external_name\n2,x\n", "line 1: missing column(s) external_id"),
    (HEADER.encode() + "2,,10,Кеди\n".encode("cp1251"), "line 2: not UTF-8 text"),
    ("", "line 1: the file is empty"),
], ids=["unknown category", "listed twice", "name without id", "field count", "broken quote", "not a number",
        "unknown columns", "missing column", "not utf-8", "empty"])
def test_each_problem_names_its_line_and_nothing_changes(shop_db, capsys, tmp_path, content, problem):
    add_rows(shop_db, "demo/rozetka", {3: ("11", "Черевики")})

    code, out, err = import_file(capsys, tmp_path, content)

    assert code == 2 and out == ""
    assert "nothing imported" in err and problem in err, err
    assert "Traceback" not in err
    assert map_of(shop_db, "demo/rozetka") == {3: ("11", "Черевики")}


def test_every_problem_of_a_file_is_reported_together(shop_db, capsys, tmp_path):
    content = HEADER + "2,,10,\n77,,11,\n2,,12,\nx,,13,\n3,,,Черевики\n"

    code, _, err = import_file(capsys, tmp_path, content)

    assert code == 2
    assert "4 problem(s)" in err
    problems = [line.strip() for line in err.splitlines()[1:]]
    assert [problem.split(":")[0] for problem in problems] == ["line 3", "line 4", "line 5", "line 6"]


def test_an_import_failing_halfway_changes_nothing(shop_db, capsys, tmp_path, monkeypatch):
    add_rows(shop_db, "demo/rozetka", {2: ("10", None), 3: ("11", None)})

    def broken(*args, **kwargs):
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(category_files, "upsert_rows", broken)   # after the rows the file leaves out were deleted
    with pytest.raises(RuntimeError):
        import_file(capsys, tmp_path, HEADER + "2,,20,\n")

    assert map_of(shop_db, "demo/rozetka") == {2: ("10", None), 3: ("11", None)}


def test_an_unknown_channel_is_refused_by_the_parser(shop_db, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["categories", "export", "--shop", "demo", "--channel", "ebay"])
    assert exited.value.code == 2
    assert "invalid choice: 'ebay'" in capsys.readouterr().err
