"""A marketplace's category map as a CSV file a person edits: `shopsync categories export|import`.

The file has one line per category of ours: category_id, category_path (ours, for the person; not read
back), external_id and external_name (the marketplace's). An empty external_id leaves the category unmapped.
An import validates the whole file first and reports every problem with its line; then it replaces the
channel's map (`<shop's map key>/<channel>`) with the file in one transaction: a category the file leaves
unmapped, or does not list, has no row afterwards.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from shopsync.catalog.transform import categories_from_records
from shopsync.core.config import ShopSettings
from shopsync.core.errors import ShopsyncError
from shopsync.core.sql import sql_statement

COLUMNS = ("category_id", "category_path", "external_id", "external_name")
REQUIRED_COLUMNS = ("category_id", "external_id")
INACTIVE_MARK = " (inactive)"


class MapFileError(ShopsyncError):
    """An import file with problems: every one, each with its line; nothing was imported."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s), nothing imported:\n"
                         + "\n".join(f"  {problem}" for problem in self.problems))


@dataclass(frozen=True)
class MapRow:
    line: int
    category_id: int
    external_id: str | None          # None: the category is unmapped
    external_name: str | None


@dataclass
class ParsedMap:
    rows: list[MapRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportCounts:
    mapped: int                      # rows added or changed
    cleared: int                     # rows removed: the category is no longer mapped
    unchanged: int                   # rows the file gives exactly as they were

    def line(self) -> str:
        return f"mapped {self.mapped}, cleared {self.cleared}, unchanged {self.unchanged}"


# --- export --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportedMap:
    map_key: str                     # the map the rows come from
    own: bool                        # False: the channel has no rows, these are the shop-level map's
    rows: list[dict]


def export_map(conn: sa.Connection, shop: ShopSettings, channel: str) -> ExportedMap:
    """Every category of ours with the channel's mapping; a channel without rows of its own shows the
    shop-level map its feeds fall back to (imported back, those become its own)."""
    key = shop.channel_map_key(channel)
    rows = map_rows(conn, key)
    if not _any_mapped(rows):
        fallback = map_rows(conn, shop.category_map_key)
        if _any_mapped(fallback):
            return ExportedMap(shop.category_map_key, False, fallback)
    return ExportedMap(key, True, rows)


def _any_mapped(rows: Sequence[dict]) -> bool:
    return any(row["external_id"] is not None for row in rows)


def map_rows(conn: sa.Connection, map_key: str) -> list[dict]:
    return [row._asdict() for row in conn.execute(sql_statement("categories/map_rows.sql"), {"map_key": map_key})]


def write_csv(rows: Sequence[dict], out: TextIO) -> None:
    paths = category_paths(rows)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row["id"], paths[row["id"]], row["external_id"] or "", row["external_name"] or ""])


def category_paths(rows: Sequence[dict]) -> dict[int, str]:
    """Each category's path from the root ("Взуття > Кросівки"), inactive ones marked."""
    categories = categories_from_records({**row, "is_active": True} for row in rows)
    return {row["id"]: " > ".join(categories[row["id"]].path) + ("" if row["is_active"] else INACTIVE_MARK)
            for row in rows}


# --- import: parse ---------------------------------------------------------------------------------------------

def parse_map(data: bytes) -> ParsedMap:
    """The file's rows and every problem found in it (UTF-8 with or without BOM; `,` or `;` between fields)."""
    parsed = ParsedMap()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        parsed.problems.append(f"line {line}: not UTF-8 text (save the file as UTF-8)")
        return parsed
    lines = text.splitlines(keepends=True)
    if not lines:
        parsed.problems.append("line 1: the file is empty (expected the header " + ",".join(COLUMNS) + ")")
        return parsed
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    records = _records(text, delimiter, parsed.problems)
    header = next(records, None)
    columns = _columns(header, parsed.problems)
    if columns is None:
        return parsed
    seen: dict[int, int] = {}
    for line, cells in records:
        row = _row(line, cells, columns, parsed.problems)
        if row is None:
            continue
        if row.category_id in seen:
            parsed.problems.append(f"line {line}: category {row.category_id} is listed twice "
                                   f"(first on line {seen[row.category_id]})")
            continue
        seen[row.category_id] = line
        parsed.rows.append(row)
    return parsed


def _records(text: str, delimiter: str, problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-blank record; a record the csv module cannot read is a problem."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"line {start}: malformed CSV: {exc}")
            return                  # the reader cannot resynchronise after a broken quote
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _columns(header: tuple[int, list[str]] | None, problems: list[str]) -> dict[str, int] | None:
    """Where each column is, by the header (any order; category_path and external_name may be left out)."""
    expected = "expected a header naming " + ", ".join(COLUMNS)
    if header is None:
        problems.append(f"line 1: no header ({expected})")
        return None
    line, cells = header
    names = [cell.strip().lower() for cell in cells]
    unknown = [name for name in names if name not in COLUMNS]
    twice = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if unknown or twice or missing:
        what = "; ".join(part for part in (
            f"unknown column(s) {', '.join(repr(name) for name in unknown)}" if unknown else "",
            f"column(s) named twice: {', '.join(twice)}" if twice else "",
            f"missing column(s) {', '.join(missing)}" if missing else "") if part)
        problems.append(f"line {line}: {what} ({expected})")
        return None
    return {name: position for position, name in enumerate(names)}


def _row(line: int, cells: list[str], columns: dict[str, int], problems: list[str]) -> MapRow | None:
    if len(cells) != len(columns):
        problems.append(f"line {line}: {len(cells)} fields, the header has {len(columns)}")
        return None

    def cell(name: str) -> str:
        return cells[columns[name]].strip() if name in columns else ""

    raw_id, external_id, external_name = cell("category_id"), cell("external_id"), cell("external_name")
    if not (raw_id.isascii() and raw_id.isdigit()):
        problems.append(f"line {line}: category_id {raw_id!r} is not a category number")
        return None
    if not external_id and external_name:
        problems.append(f"line {line}: external_name {external_name!r} without an external_id (give the "
                        "marketplace's id, or leave both empty to leave the category unmapped)")
        return None
    return MapRow(line, int(raw_id), external_id or None, external_name or None)


# --- import: apply ---------------------------------------------------------------------------------------------

def import_map(engine: sa.Engine, shop: ShopSettings, channel: str, data: bytes, source: str) -> ImportCounts:
    """Replace the channel's map with the file's, all or nothing; MapFileError lists every problem."""
    parsed = parse_map(data)
    key = shop.channel_map_key(channel)
    with engine.begin() as conn:
        conn.execute(sql_statement("categories/lock_map.sql"), {"map_key": key})
        current = {row["id"]: row for row in map_rows(conn, key)}
        problems = parsed.problems + [f"line {row.line}: category {row.category_id} is not one of ours"
                                      for row in parsed.rows if row.category_id not in current]
        if problems:
            raise MapFileError(source, sorted(problems, key=_line_number))
        counts = _counts(current, parsed.rows)
        replace_map(conn, key, [row for row in parsed.rows if row.external_id is not None])
    return counts


def replace_map(conn: sa.Connection, map_key: str, mapped: list[MapRow]) -> None:
    """The map's rows become `mapped` (in the caller's transaction)."""
    delete_unlisted(conn, map_key, [row.category_id for row in mapped])
    upsert_rows(conn, map_key, mapped)


def delete_unlisted(conn: sa.Connection, map_key: str, kept: list[int]) -> None:
    conn.execute(sql_statement("categories/delete_unlisted.sql"), {"map_key": map_key, "mapped": kept})


def upsert_rows(conn: sa.Connection, map_key: str, mapped: list[MapRow]) -> None:
    if mapped:
        conn.execute(sql_statement("categories/upsert_row.sql"),
                     [{"map_key": map_key, "category_id": row.category_id, "external_id": row.external_id,
                       "external_name": row.external_name} for row in mapped])


def _counts(current: dict[int, dict], rows: list[MapRow]) -> ImportCounts:
    mapped = unchanged = 0
    for row in rows:
        if row.external_id is None:
            continue
        before = current[row.category_id]
        if (before["external_id"], before["external_name"]) == (row.external_id, row.external_name):
            unchanged += 1
        else:
            mapped += 1
    kept = {row.category_id for row in rows if row.external_id is not None}
    cleared = sum(1 for category_id, row in current.items()
                  if row["external_id"] is not None and category_id not in kept)
    return ImportCounts(mapped, cleared, unchanged)


def _line_number(problem: str) -> int:
    number = problem.removeprefix("line ").split(":", 1)[0]
    return int(number) if number.isdigit() else 0


def shop_level_rows(conn: sa.Connection, shop: ShopSettings) -> int:
    """How many categories the shop-level map maps (what a channel without rows of its own falls back to)."""
    return sum(1 for row in map_rows(conn, shop.category_map_key) if row["external_id"] is not None)


# --- the commands ------------------------------------------------------------------------------------------------

def export_command(engine: sa.Engine, shop: ShopSettings, channel: str, out: TextIO, err: TextIO) -> int:
    """`shopsync categories export`: the CSV on `out`, notes for the person on `err`."""
    _note_unread(shop, channel, err)
    with engine.connect() as conn:
        exported = export_map(conn, shop, channel)
    if not exported.own:
        print(f"shopsync: {shop.channel_map_key(channel)} has no rows of its own: these are the shop-level map "
              f"{exported.map_key} its feeds fall back to; imported, they become its own", file=err)
    write_csv(exported.rows, out)
    return 0


def import_command(engine: sa.Engine, shop: ShopSettings, channel: str, path: Path, out: TextIO,
                   err: TextIO) -> int:
    """`shopsync categories import`: the counts on `out`; MapFileError (every problem) when nothing changed."""
    _note_unread(shop, channel, err)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ShopsyncError(f"{path}: cannot read: {exc.strerror}") from None
    counts = import_map(engine, shop, channel, data, str(path))
    key = shop.channel_map_key(channel)
    print(f"{key}: {counts.line()}", file=out)
    if counts.mapped + counts.unchanged == 0:
        with engine.connect() as conn:
            fallback = shop_level_rows(conn, shop)
        if fallback:
            print(f"{key} has no rows now: its feeds fall back to the shop-level map {shop.category_map_key} "
                  f"({fallback} categories mapped there)", file=out)
    return 0


def _note_unread(shop: ShopSettings, channel: str, err: TextIO) -> None:
    if channel not in shop.map_channels:
        print(f"shopsync: shop {shop.id} has no feed for {channel}: no feed reads this map yet", file=err)
