"""The local copy of each carrier's directory of cities and branches, and addressing waybills from it.

    refresh(engine, source) -> RefreshSummary       the carrier's lists into carrier_cities / carrier_branches
    resolve_place(conn, carrier, city, branch, branch_ref, address=None) -> Place | Unresolved
    open_directory(kind, conn_id=None) -> DirectorySource   the adapter of the first shop using that carrier

A refresh streams the carrier's lists and upserts them in batches inside ONE transaction: every row seen is
stamped with the transaction's time, the open rows left with an older stamp are the ones the carrier no longer
lists and become inactive (kept: old invoices name them). An answer that would close more than half of the open
cities or branches is refused before the commit (PermanentError, nothing changed): a broken or cut answer must not
wipe the directory that every waybill is addressed from. A failure part way (the carrier times out) rolls
everything back too, so a refresh is all or nothing.

Resolving reads only the directory: a marketplace's branch id (Nova Poshta Ref) wins when it is open; else the
city by its name as people type it (letter case, є/ї/ё/ґ written as е/і, Latin look-alikes, apostrophes, "м.",
"смт", an oblast hint such as "Київська обл." to tell cities of one name apart) and the branch by its number
("Відділення №33", "№ 33", "Поштомат 5012", "33"). Ukrposhta is addressed by the post office's postcode.
The reasons of Unresolved are sentences for the person who fixes the invoice.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.carriers.base import DIRECTORY_KINDS, Branch, City, DirectorySource, carrier_name
from shopsync.core.errors import ConfigError, PermanentError
from shopsync.core.sql import sql_statement

log = logging.getLogger(__name__)

BATCH_SIZE = 1_000
MAX_CLOSED_SHARE = 0.5          # a refresh closing more than this share of the open rows is refused

T = TypeVar("T")


# --- refresh ---------------------------------------------------------------------------------------------------

@dataclass
class RefreshSummary:
    carrier: str
    cities: int = 0                 # listed by the carrier now
    branches: int = 0
    cities_added: int = 0           # not in the directory before
    branches_added: int = 0
    cities_closed: int = 0          # open before, not listed now: inactive
    branches_closed: int = 0
    seconds: float = 0.0

    @property
    def deactivated(self) -> int:
        return self.cities_closed + self.branches_closed

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "deactivated": self.deactivated}

    def line(self) -> str:
        return (f"{self.carrier} directory: {self.cities} cities ({self.cities_added} new, {self.cities_closed} "
                f"gone), {self.branches} branches ({self.branches_added} new, {self.branches_closed} gone) "
                f"in {self.seconds:.1f} s")


class DirectoryShrinkRefused(PermanentError):
    """The carrier's answer would close too much of the directory: more likely a broken answer than reality."""


def refresh(engine: Engine, source: DirectorySource, *, batch_size: int = BATCH_SIZE,
            allow_shrink: bool = False) -> RefreshSummary:
    """The carrier's cities and branches into the directory, all or nothing (see the module's docstring).

    `allow_shrink` lets an operator accept an answer that closes more than half of the directory (a carrier that
    really did reorganise); the refresh is refused otherwise.
    """
    started = time.perf_counter()
    carrier = source.kind
    summary = RefreshSummary(carrier)
    with engine.begin() as conn:
        params = {"carrier": carrier}
        conn.execute(sql_statement("carriers/lock_directory.sql"), params)
        before = conn.execute(sql_statement("carriers/active_counts.sql"), params).one()
        summary.cities, summary.cities_added = _upsert(
            conn, carrier, "carriers/upsert_cities.sql", (city_row(city) for city in source.cities()), batch_size)
        summary.branches, summary.branches_added = _upsert(
            conn, carrier, "carriers/upsert_branches.sql", (branch_row(b) for b in source.branches()), batch_size)
        unseen = conn.execute(sql_statement("carriers/unseen_counts.sql"), params).one()
        summary.cities_closed, summary.branches_closed = unseen.cities, unseen.branches
        if not allow_shrink:
            _refuse_shrink(carrier, "cities", unseen.cities, before.cities, summary.cities)
            _refuse_shrink(carrier, "branches", unseen.branches, before.branches, summary.branches)
        conn.execute(sql_statement("carriers/deactivate_unseen_cities.sql"), params)
        conn.execute(sql_statement("carriers/deactivate_unseen_branches.sql"), params)
        conn.execute(sql_statement("carriers/record_refresh.sql"), {
            **params, "cities": summary.cities, "branches": summary.branches, "deactivated": summary.deactivated})
    summary.seconds = round(time.perf_counter() - started, 3)
    log.info("%s", summary.line())
    return summary


def _upsert(conn: sa.Connection, carrier: str, statement: str, rows: Iterable[dict[str, Any]],
            batch_size: int) -> tuple[int, int]:
    """(rows seen, rows new) after upserting `rows` in batches. A ref listed twice (pages that shifted while the
    carrier was paged through) counts once; within a batch the last listing wins, as PostgreSQL refuses to
    upsert one row twice in a statement."""
    seen: set[str] = set()
    added = 0
    for batch in batches(rows, batch_size):
        unique = {row["ref"]: row for row in batch}
        seen.update(unique)
        result = conn.execute(sql_statement(statement), {
            "carrier": carrier, "rows": json.dumps(list(unique.values()), ensure_ascii=False)})
        added += sum(1 for row in result if row.added)
    return len(seen), added


def _refuse_shrink(carrier: str, what: str, closing: int, open_before: int, listed: int) -> None:
    if open_before and closing > open_before * MAX_CLOSED_SHARE:
        raise DirectoryShrinkRefused(
            f"{carrier_name(carrier)} listed {listed} {what} but the directory holds {open_before} open: "
            f"{closing} would close, more than half. Nothing was changed. If the carrier really did close "
            f"them, run `shopsync carriers refresh --kind {carrier} --allow-shrink`")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def city_row(city: City) -> dict[str, Any]:
    return {"ref": city.ref, "name": city.name.strip(), "name_ru": _blank_none(city.name_ru),
            "area": _blank_none(city.area), "kind": _blank_none(city.kind)}


def branch_row(branch: Branch) -> dict[str, Any]:
    return {"ref": branch.ref, "city_ref": branch.city_ref,
            "number": _blank_none(str(branch.number)) if branch.number is not None else None,
            "kind": _blank_none(branch.kind), "description": branch.description.strip(),
            "address": _blank_none(branch.address), "postcode": _blank_none(branch.postcode),
            "max_weight_kg": None if branch.max_weight_kg is None else str(branch.max_weight_kg)}


def _blank_none(text: str | None) -> str | None:
    return (text or "").strip() or None


# --- the adapter that lists a directory -----------------------------------------------------------------------

def open_directory(kind: str, conn_id: str | None = None, *,
                   open_carrier: Callable[..., Any] | None = None) -> DirectorySource:
    """The directory of carrier `kind`, read with the settings of the first shop using that carrier (the directory
    is the carrier's, not a shop's); `conn_id` names another Airflow Connection for it."""
    from shopsync.core.config import scan_shops

    if kind not in DIRECTORY_KINDS:
        raise ConfigError(f"{carrier_name(kind)} has no directory to copy (ours: {', '.join(DIRECTORY_KINDS)}); "
                          "its waybills are addressed by the post office's postcode")
    shops, problems = scan_shops()
    users = [carrier for shop in shops for carrier in shop.carriers if carrier.kind == kind]
    if not users:
        why = f" ({len(problems)} shop file(s) invalid, e.g. {problems[0]})" if problems else ""
        raise ConfigError(f"no shop uses {carrier_name(kind)} (`carrier:` in a shop file): no settings to "
                          f"connect with{why}")
    settings = users[0] if conn_id is None else users[0].model_copy(update={"conn_id": conn_id})
    if open_carrier is None:
        from shopsync.carriers.connect import open_carrier
    return open_carrier(settings)


# --- resolving a place ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    city_ref: str | None            # None for Ukrposhta (addressed by postcode)
    city_name: str
    branch_ref: str | None
    branch_number: str | None
    postcode: str | None


@dataclass(frozen=True)
class Unresolved:
    reason: str


def resolve_place(conn: sa.Connection, carrier: str, city: str | None, branch: str | None,
                  branch_ref: str | None, address: str | None = None) -> Place | Unresolved:
    """Where a waybill goes, from the local directory only (never free text to the carrier)."""
    if carrier == "ukrposhta":
        return _ukrposhta_place(city, branch, address)
    ref_problem = None
    if branch_ref and branch_ref.strip():
        found = conn.execute(sql_statement("carriers/branch_of_ref.sql"),
                             {"carrier": carrier, "ref": branch_ref.strip()}).first()
        if found is not None:
            return Place(found.city_ref, found.city_name or _shown(city), found.ref, found.number, found.postcode)
        ref_problem = f"branch id {branch_ref.strip()!r} is not an open branch in the {carrier_name(carrier)} directory"
    place = _place_by_text(conn, carrier, city, branch, address)
    if isinstance(place, Unresolved) and ref_problem:
        return Unresolved(f"{ref_problem}, and {place.reason}")
    return place


def _place_by_text(conn: sa.Connection, carrier: str, city: str | None, branch: str | None,
                   address: str | None) -> Place | Unresolved:
    wanted = branch_number(branch) or branch_number(address, named_only=True)
    asked = parse_city(city)
    if asked is None:
        return Unresolved(f"no city given for the {carrier_name(carrier)} branch")
    if wanted is None:
        told = f" in {branch.strip()!r}" if branch and branch.strip() else ""
        return Unresolved(f"no {carrier_name(carrier)} branch number{told} for {_shown(city)} "
                          "(expected e.g. 'Відділення №33' or 'Поштомат 5012')")
    cities = _cities_named(conn, carrier, asked)
    if isinstance(cities, Unresolved):
        return cities
    candidates = _branches_numbered(conn, carrier, [row.ref for row in cities], wanted)
    by_city = {row.ref: row for row in cities}
    found_in = sorted({row.city_ref for row in candidates})
    if not found_in:
        where = cities[0].name if len(cities) == 1 else f"any of the {len(cities)} cities named {cities[0].name}"
        return Unresolved(f"no branch №{wanted.number} in {where}")
    if len(found_in) > 1:
        areas = ", ".join(_area_shown(by_city[ref]) for ref in found_in)
        return Unresolved(f"city {_shown(city)!r} is ambiguous in the {carrier_name(carrier)} directory: "
                          f"{len(found_in)} cities of that name have a branch №{wanted.number} ({areas}); "
                          f"give the oblast, e.g. '{by_city[found_in[0]].name}, {_area_shown(by_city[found_in[0]])}'")
    chosen = _one_branch(candidates, wanted)
    if chosen is None:
        return Unresolved(f"several branches №{wanted.number} in {by_city[found_in[0]].name}: "
                          "say which (e.g. 'Поштомат' or 'Відділення')")
    return Place(chosen.city_ref, by_city[chosen.city_ref].name, chosen.ref, chosen.number, chosen.postcode)


def _cities_named(conn: sa.Connection, carrier: str, asked: AskedCity) -> list[sa.Row] | Unresolved:
    rows = conn.execute(sql_statement("carriers/cities_named.sql"), {
        "carrier": carrier, "key": asked.key, "fold_from": FOLD_FROM, "fold_to": FOLD_TO}).all()
    if not rows:
        counts = conn.execute(sql_statement("carriers/active_counts.sql"), {"carrier": carrier}).one()
        if not counts.cities:
            return Unresolved(f"the {carrier_name(carrier)} directory is empty: run "
                              f"`shopsync carriers refresh --kind {carrier}`")
        return Unresolved(f"city {asked.typed!r} not in the {carrier_name(carrier)} directory")
    if asked.area_key is None:
        return rows
    in_area = [row for row in rows if area_key(row.area) == asked.area_key]
    if not in_area:
        areas = ", ".join(sorted({_area_shown(row) for row in rows}))
        return Unresolved(f"city {asked.typed!r} of {asked.area_typed} not in the {carrier_name(carrier)} "
                          f"directory (a city of that name is in: {areas})")
    return in_area


def _branches_numbered(conn: sa.Connection, carrier: str, city_refs: list[str], wanted: BranchNumber) -> list[sa.Row]:
    return conn.execute(sql_statement("carriers/branches_numbered.sql"), {
        "carrier": carrier, "city_refs": city_refs, "number": wanted.number}).all()


def _one_branch(candidates: Sequence[sa.Row], wanted: BranchNumber) -> sa.Row | None:
    """The branch of that number; of several (a branch and a parcel locker), the kind the text named."""
    if len(candidates) == 1:
        return candidates[0]
    if wanted.kind is not None:
        of_kind = [row for row in candidates if row.kind == wanted.kind]
        if len(of_kind) == 1:
            return of_kind[0]
    return None


def describe(place: Place | Unresolved) -> str:
    """One line for a person: where the waybill would go, or why it cannot be addressed."""
    if isinstance(place, Unresolved):
        return f"not resolved: {place.reason}"
    where = place.city_name + (f" (city ref {place.city_ref})" if place.city_ref else "")
    branch = f", branch №{place.branch_number}" if place.branch_number else ""
    branch += f" (ref {place.branch_ref})" if place.branch_ref else ""
    return where + branch + (f", postcode {place.postcode}" if place.postcode else "")


def _ukrposhta_place(city: str | None, branch: str | None, address: str | None) -> Place | Unresolved:
    """Ukrposhta takes the recipient's address by postcode and city: the post office is its postcode."""
    code = postcode(branch) or postcode(address)
    asked = parse_city(city)
    if code is None:
        texts = " or ".join(repr(text.strip()) for text in (branch, address) if text and text.strip())
        return Unresolved(f"no Ukrposhta postcode (5 digits) in {texts or 'the order (no branch, no address)'}")
    if asked is None:
        return Unresolved(f"no city given for the Ukrposhta post office {code}")
    return Place(None, asked.name, None, None, code)


def _shown(city: str | None) -> str:
    return " ".join((city or "").split()) or "?"


def _area_shown(row: sa.Row) -> str:
    return f"{row.area} обл." if row.area and "обл" not in row.area else (row.area or "oblast unknown")


# --- text: how people type places -------------------------------------------------------------------------------

_UPPER = "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯЁЫЭЪ" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Letters typed for others: є/ї/ё/ґ without their marks, and Latin letters that look like Cyrillic ones (a
# Ukrainian keyboard layout without і puts a Latin i). Both sides of a comparison are folded the same way, in
# Python (the text asked for) and in SQL (translate(), for the directory's names: independent of the server's
# locale), from these tables.
_VARIANTS = {"є": "е", "ї": "і", "ё": "е", "ґ": "г", "i": "і", "ï": "і", "a": "а", "c": "с", "e": "е", "o": "о",
             "p": "р", "x": "х", "y": "у", "k": "к", "\u00a0": " ", "-": " ", "–": " ", "—": " "}
_LATIN_UPPER_LOOKS = {"B": "в", "H": "н", "M": "м", "T": "т"}
_DROPPED = "’ʼ'`‘ʹ′\""          # apostrophes: Кам'янець, Камʼянець and Камянець are one name


def _fold_table() -> dict[str, str]:
    table = {upper: _LATIN_UPPER_LOOKS.get(upper, upper.lower()) for upper in _UPPER}
    table.update(_VARIANTS)
    return {char: _VARIANTS.get(target, target) for char, target in table.items()}


_FOLD = _fold_table()
FOLD_FROM = "".join(_FOLD) + _DROPPED
FOLD_TO = "".join(_FOLD.values())
_FOLD_TRANSLATION = str.maketrans({**_FOLD, **{char: None for char in _DROPPED}})


def name_key(text: str | None) -> str:
    """A place name as compared: folded (see _VARIANTS), apostrophes dropped, spaces collapsed."""
    return " ".join((text or "").translate(_FOLD_TRANSLATION).split())


_SETTLEMENT_PREFIX = re.compile(r"^(?:місто|город|селище міського типу|селище|село|смт|пгт|с щ|сщ|м|г|с)(?:\.\s*|\s+)")
_TYPED_PREFIX = re.compile(r"^(?:місто|город|селище міського типу|селище|село|смт|пгт|с-ще|сщ|м|г|с)(?:\.\s*|\s+)",
                           re.IGNORECASE)
_AREA = re.compile(r"^(?:(?P<city>.+?)\s+)?(?P<area>\S+(?:ська|цька|зька|ская|цкая|зкая))\s+(?:обл\.?|область)$")
_AREA_ADJECTIVE = re.compile(r"^\S+(?:ська|цька|зька|ская|цкая|зкая)$")
_AREA_WORDS = re.compile(r"\s+(?:обл\.?|область)$")
_DISTRICT = re.compile(r"(?:\bр н\b|\bр\.н\.|\bрайон\b|\bр н\.)")


@dataclass(frozen=True)
class AskedCity:
    typed: str                      # the city as written, spaces collapsed ("м. Київ, Київська обл.")
    name: str                       # its name as written, without "м." and the oblast ("Київ")
    key: str                        # the name as compared ("київ")
    area_key: str | None            # "київська" of "Київська обл."
    area_typed: str | None


def parse_city(text: str | None) -> AskedCity | None:
    """The city and its oblast hint from what a buyer or marketplace wrote: "м. Київ", "смт Гостомель",
    "Бровари, Київська обл.", "Бровари (Київська область)", "Київська обл., м. Бровари"."""
    typed = " ".join((text or "").split())
    city_key = name = area = area_typed = None
    for part in re.split(r"[,;()]", typed):
        key = name_key(part).rstrip(".")
        if not key or _DISTRICT.search(key):
            continue
        matched = _AREA.match(key)
        if matched and area is None:
            area, area_typed = matched.group("area"), part.strip()
            key = matched.group("city") or ""
            part = " ".join(part.split()[:len(key.split())])     # "Бровари" of "Бровари Київська обл."
        if key and city_key is None:
            city_key, name = _without_prefix(key, _SETTLEMENT_PREFIX), _without_prefix(part.strip(), _TYPED_PREFIX)
        elif key and area is None and _AREA_ADJECTIVE.match(key):
            area, area_typed = key, part.strip()          # "Бровари, Київська"
    if not city_key or not name:
        return None
    return AskedCity(typed, name, city_key, area, area_typed)


def _without_prefix(text: str, prefix: re.Pattern[str]) -> str:
    return prefix.sub("", text, count=1).strip() or text


def area_key(area: str | None) -> str | None:
    """An oblast as compared: "Київська", "Київська обл." and "київська область" are one."""
    key = _AREA_WORDS.sub("", name_key(area).rstrip("."))
    return key or None


@dataclass(frozen=True)
class BranchNumber:
    number: str                     # without leading zeros: "33"
    kind: str | None                # branch | postomat | cargo when the text says which


_I = "[іi]"      # Ukrainian і, or the Latin i typed for it
_BRANCH_WORDS = (rf"(?P<word>в{_I}дд{_I}лен+я|в{_I}д{_I}лен+я|в{_I}дд\.?|в{_I}д\.|отделение|отд\.?|поштомат|почтомат|"
                 rf"пункт(?:\s+(?:приймання|видач{_I}|выдачи|приема)[\w\s-]*?)?|вантажне\s+в{_I}дд{_I}лення|"
                 r"грузовое\s+отделение|branch|postomat|warehouse)")
_WORD_NUMBER = re.compile(_BRANCH_WORDS + r"\s*(?:№|#|n\s*o\.?|no\.?)?\s*(?P<number>\d{1,5})(?!\d)", re.IGNORECASE)
_SIGN_NUMBER = re.compile(r"(?:№|#)\s*(?P<number>\d{1,5})(?!\d)")
_ONLY_NUMBER = re.compile(r"^\s*(?P<number>\d{1,5})\s*$")
_POSTCODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")


def branch_number(text: str | None, *, named_only: bool = False) -> BranchNumber | None:
    """The branch's number in "Відділення №33", "№ 33: вул. ...", "відділення 33", "Поштомат 5012", "33"; None
    when the text holds none (a marketplace's id, a street address). `named_only`: only a number the text calls
    a branch's (an address's "буд. №5" is a house)."""
    if not text:
        return None
    for pattern in (_WORD_NUMBER,) if named_only else (_WORD_NUMBER, _SIGN_NUMBER, _ONLY_NUMBER):
        matched = pattern.search(text)
        if matched:
            number = matched.group("number").lstrip("0") or "0"
            return BranchNumber(number, _branch_kind(text))
    return None


def _branch_kind(text: str) -> str | None:
    lowered = text.casefold().replace("i", "і")
    if any(word in lowered for word in ("поштомат", "почтомат", "postomat")):
        return "postomat"
    if any(word in lowered for word in ("вантаж", "грузов", "cargo")):
        return "cargo"
    if any(word in lowered for word in ("відд", "віділ", "отдел", "отд.", "branch", "пункт")):
        return "branch"
    return None


def postcode(text: str | None) -> str | None:
    """A Ukrainian postcode (5 digits) in the text, e.g. "01001" of "Відділення 01001" or an address."""
    matched = _POSTCODE.search(text or "")
    return matched.group(1) if matched else None
