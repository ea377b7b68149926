"""The carrier directory: refreshed all or nothing, guarded against a broken answer, and read to address waybills."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import sqlalchemy as sa

from shopsync.carriers.base import Branch, City
from shopsync.carriers.directory import (
    DirectoryShrinkRefused,
    Place,
    Unresolved,
    branch_number,
    parse_city,
    refresh,
    resolve_place,
)
from shopsync.transport.api_client import RemoteError

KYIV, LVIV, BROVARY = "8d5a980d-391c-11dd-90d9-001a92567626", "db5c88f5-391c-11dd-90d9-001a92567626", "brovary-ref"
PETRIVKA_KYIV, PETRIVKA_ODESA, PETRIVKA_POLTAVA = "petrivka-kyiv", "petrivka-odesa", "petrivka-poltava"
KAMIANETS = "kamianets-ref"


def cities() -> list[City]:
    return [
        City(KYIV, "Київ", "Киев", "Київська", "місто"),
        City(LVIV, "Львів", "Львов", "Львівська", "місто"),
        City(BROVARY, "Бровари", "Бровары", "Київська", "місто"),
        City(PETRIVKA_KYIV, "Петрівка", "Петровка", "Київська", "село"),
        City(PETRIVKA_ODESA, "Петрівка", "Петровка", "Одеська", "село"),
        City(PETRIVKA_POLTAVA, "Петрівка", "Петровка", "Полтавська", "село"),
        City(KAMIANETS, "Кам'янець-Подільський", "Каменец-Подольский", "Хмельницька", "місто"),
    ]


def branches() -> list[Branch]:
    return [
        Branch("kyiv-1", KYIV, "1", "Відділення №1: вул. Пирогівський шлях, 135", "branch",
               "вул. Пирогівський шлях, 135", "03083", Decimal("1000")),
        Branch("kyiv-33", KYIV, "33", "Відділення №33 (до 30 кг): вул. Хрещатик, 22", "branch", "вул. Хрещатик, 22",
               "01001", Decimal("30")),
        Branch("kyiv-5012", KYIV, "5012", "Поштомат №5012: вул. Саксаганського, 1", "postomat", None, "01033",
               Decimal("20")),
        Branch("lviv-33", LVIV, "33", "Відділення №33: вул. Городоцька, 1", "branch", None, "79000", None),
        Branch("brovary-2", BROVARY, "2", "Відділення №2: вул. Незалежності, 3", "branch", None, "07400", None),
        Branch("petrivka-kyiv-1", PETRIVKA_KYIV, "1", "Відділення №1: вул. Центральна, 1", "branch", None, None, None),
        Branch("petrivka-odesa-1", PETRIVKA_ODESA, "1", "Відділення №1: вул. Миру, 2", "branch", None, None, None),
        Branch("petrivka-poltava-2", PETRIVKA_POLTAVA, "2", "Відділення №2: вул. Шкільна, 4", "branch", None, None,
               None),
        Branch("kamianets-4", KAMIANETS, "4", "Відділення №4: вул. Соборна, 9", "branch", None, "32300", None),
    ]


@dataclass
class ListedDirectory:
    """A DirectorySource that lists what it is given (the adapter side is tested against the fake servers)."""
    city_list: list[City] = field(default_factory=cities)
    branch_list: list[Branch] = field(default_factory=branches)
    fail_after_branches: int | None = None
    kind: str = "nova_poshta"

    def cities(self) -> Iterator[City]:
        yield from self.city_list

    def branches(self) -> Iterator[Branch]:
        for count, branch in enumerate(self.branch_list):
            if count == self.fail_after_branches:
                raise RemoteError("nova_poshta: timed out (page 2)")
            yield branch


def directory_rows(engine, table: str) -> dict[str, tuple]:
    with engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT ref, is_active, updated_at FROM {table} ORDER BY ref")).all()
    return {row.ref: (row.is_active, row.updated_at) for row in found}


def refreshes(engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM carrier_directory_refreshes ORDER BY refreshed_at")).all()


@pytest.fixture
def filled(engine):
    refresh(engine, ListedDirectory(), batch_size=3)
    return engine


def resolve(engine, city, branch=None, branch_ref=None, address=None, carrier="nova_poshta"):
    with engine.connect() as conn:
        return resolve_place(conn, carrier, city, branch, branch_ref, address)


# --- refresh --------------------------------------------------------------------------------------------------

def test_a_refresh_stores_the_lists_in_batches_and_records_itself(engine):
    summary = refresh(engine, ListedDirectory(), batch_size=3)

    assert (summary.cities, summary.cities_added, summary.branches, summary.branches_added) == (7, 7, 9, 9)
    assert summary.deactivated == 0
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM carrier_branches WHERE ref = 'kyiv-33'")).one()
    assert (row.carrier, row.city_ref, row.number, row.kind, row.postcode, row.max_weight_kg) == (
        "nova_poshta", KYIV, "33", "branch", "01001", Decimal("30.00"))
    [recorded] = refreshes(engine)
    assert (recorded.carrier, recorded.cities, recorded.branches, recorded.deactivated) == ("nova_poshta", 7, 9, 0)
    assert all(updated == recorded.refreshed_at for _, updated in directory_rows(engine, "carrier_cities").values())


def test_a_second_refresh_of_the_same_lists_changes_nothing_but_the_stamp(engine):
    refresh(engine, ListedDirectory(), batch_size=4)
    first = directory_rows(engine, "carrier_branches")
    summary = refresh(engine, ListedDirectory(), batch_size=4)

    again = directory_rows(engine, "carrier_branches")
    assert (summary.cities_added, summary.branches_added, summary.deactivated) == (0, 0, 0)
    assert again.keys() == first.keys() and all(active for active, _ in again.values())
    assert len(refreshes(engine)) == 2


def test_a_ref_listed_twice_counts_once(engine):
    listed = ListedDirectory(branch_list=branches() + branches()[:2])
    summary = refresh(engine, listed, batch_size=100)
    assert summary.branches == 9 and len(directory_rows(engine, "carrier_branches")) == 9


def test_a_branch_gone_from_the_list_becomes_inactive_and_comes_back_when_listed_again(engine):
    refresh(engine, ListedDirectory())
    without = ListedDirectory(branch_list=[b for b in branches() if b.ref != "kyiv-33"])
    summary = refresh(engine, without)

    assert (summary.branches_closed, summary.cities_closed, summary.deactivated) == (1, 0, 1)
    assert directory_rows(engine, "carrier_branches")["kyiv-33"][0] is False
    assert refreshes(engine)[-1].deactivated == 1
    assert resolve(engine, "Київ", "Відділення №33") == Unresolved("no branch №33 in Київ")

    refresh(engine, ListedDirectory())
    assert directory_rows(engine, "carrier_branches")["kyiv-33"][0] is True


def test_an_answer_that_would_close_more_than_half_is_refused_and_changes_nothing(engine):
    refresh(engine, ListedDirectory())
    before = directory_rows(engine, "carrier_branches")

    half_empty = ListedDirectory(branch_list=branches()[:4], city_list=cities() + [City("new", "Нове", None, None)])
    with pytest.raises(DirectoryShrinkRefused, match="5 would close, more than half. Nothing was changed"):
        refresh(engine, half_empty)

    assert directory_rows(engine, "carrier_branches") == before
    assert "new" not in directory_rows(engine, "carrier_cities")
    assert len(refreshes(engine)) == 1


def test_an_empty_answer_is_refused(engine):
    refresh(engine, ListedDirectory())
    with pytest.raises(DirectoryShrinkRefused, match="listed 0 cities"):
        refresh(engine, ListedDirectory(city_list=[], branch_list=[]))
    assert all(active for active, _ in directory_rows(engine, "carrier_cities").values())


def test_an_operator_may_accept_a_shrink(engine):
    refresh(engine, ListedDirectory())
    summary = refresh(engine, ListedDirectory(branch_list=branches()[:4]), allow_shrink=True)
    assert summary.branches_closed == 5
    assert sum(active for active, _ in directory_rows(engine, "carrier_branches").values()) == 4


def test_a_carrier_failing_part_way_leaves_the_directory_as_it_was(engine):
    refresh(engine, ListedDirectory())
    before = directory_rows(engine, "carrier_branches")
    renamed = ListedDirectory(city_list=[City(KYIV, "Київ (змінено)")] + cities()[1:], fail_after_branches=5)

    with pytest.raises(RemoteError):
        refresh(engine, renamed, batch_size=2)

    assert directory_rows(engine, "carrier_branches") == before
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT name FROM carrier_cities WHERE ref = '{KYIV}'")).scalar_one() == "Київ"
    assert len(refreshes(engine)) == 1


def test_each_carrier_has_its_own_directory(engine):
    refresh(engine, ListedDirectory())
    other = ListedDirectory(city_list=[City("ukr-1", "Київ")], branch_list=[], kind="ukrposhta")
    summary = refresh(engine, other)
    assert summary.deactivated == 0
    assert all(active for active, _ in directory_rows(engine, "carrier_branches").values())


# --- resolving --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("city, branch", [
    ("Київ", "Відділення №33"),
    ("м. Київ", "№ 33"),
    ("КИЇВ", "відділення 33"),
    ("Киiв", "33"),                       # Latin i
    ("Киев", "Отделение №33"),            # the Russian name
    ("місто Київ", "Відділення №033: вул. Хрещатик, 22"),
    ("Київ, Київська обл.", "Вiддiлення № 33"),
])
def test_a_branch_is_found_by_city_and_number_however_they_are_typed(filled, city, branch):
    assert resolve(filled, city, branch) == Place(KYIV, "Київ", "kyiv-33", "33", "01001")


def test_a_parcel_locker_and_an_apostrophe_variant(filled):
    assert resolve(filled, "Київ", "Поштомат 5012") == Place(KYIV, "Київ", "kyiv-5012", "5012", "01033")
    for typed in ("Камʼянець-Подільський", "Кам’янець Подільський", "кам`янець-подільський", "Камянець-Подільський"):
        place = resolve(filled, typed, "Відділення №4")
        assert isinstance(place, Place) and place.branch_ref == "kamianets-4", typed


def test_the_same_number_in_another_city_is_not_taken(filled):
    assert resolve(filled, "Львів", "Відділення №33").branch_ref == "lviv-33"
    assert resolve(filled, "Бровари", "Відділення №33") == Unresolved("no branch №33 in Бровари")


def test_cities_of_one_name_are_told_apart_by_the_branch_number(filled):
    assert resolve(filled, "Петрівка", "Відділення №2").branch_ref == "petrivka-poltava-2"


def test_cities_of_one_name_with_the_same_branch_number_need_the_oblast(filled):
    unresolved = resolve(filled, "Петрівка", "Відділення №1")
    assert isinstance(unresolved, Unresolved)
    assert "ambiguous" in unresolved.reason and "(Київська обл., Одеська обл.)" in unresolved.reason
    assert unresolved.reason.endswith("give the oblast, e.g. 'Петрівка, Київська обл.'")

    for typed in ("Петрівка, Одеська обл.", "с. Петрівка (Одеська область)", "Одеська обл., с. Петрівка"):
        assert resolve(filled, typed, "Відділення №1").branch_ref == "petrivka-odesa-1", typed


def test_an_oblast_that_has_no_such_city_is_not_ignored(filled):
    unresolved = resolve(filled, "Бровари, Житомирська обл.", "Відділення №2")
    assert unresolved == Unresolved("city 'Бровари, Житомирська обл.' of Житомирська обл. not in the Nova Poshta "
                                    "directory (a city of that name is in: Київська обл.)")


def test_a_marketplaces_branch_id_wins_over_the_text(filled):
    assert resolve(filled, "Львів", "Відділення №1", branch_ref="kyiv-33") == Place(KYIV, "Київ", "kyiv-33", "33",
                                                                                     "01001")


def test_an_unknown_branch_id_falls_back_to_the_text_and_says_so_when_that_fails_too(filled):
    assert resolve(filled, "Київ", "Відділення №1", branch_ref="no-such-ref").branch_ref == "kyiv-1"
    unresolved = resolve(filled, "Київ", "Відділення №999", branch_ref="no-such-ref")
    assert unresolved == Unresolved("branch id 'no-such-ref' is not an open branch in the Nova Poshta directory, "
                                    "and no branch №999 in Київ")


def test_a_closed_branch_id_is_not_used(filled):
    refresh(filled, ListedDirectory(branch_list=[b for b in branches() if b.ref != "kyiv-1"]))
    unresolved = resolve(filled, None, None, branch_ref="kyiv-1")
    assert isinstance(unresolved, Unresolved) and "'kyiv-1' is not an open branch" in unresolved.reason


@pytest.mark.parametrize("city, branch, address, reason", [
    ("Кїв", "Відділення №33", None, "city 'Кїв' not in the Nova Poshta directory"),
    ("Київ", "Відділення №999", None, "no branch №999 in Київ"),
    (None, "Відділення №33", None, "no city given for the Nova Poshta branch"),
    ("Київ", "вул. Хрещатик, 22", None,
     "no Nova Poshta branch number in 'вул. Хрещатик, 22' for Київ (expected e.g. 'Відділення №33' or "
     "'Поштомат 5012')"),
    ("Петрівка", "Відділення №7", None, "no branch №7 in any of the 3 cities named Петрівка"),
])
def test_what_cannot_be_resolved_says_why(filled, city, branch, address, reason):
    assert resolve(filled, city, branch, address=address) == Unresolved(reason)


def test_the_branch_number_may_come_from_the_address(filled):
    place = resolve(filled, "Київ", "1ec09d88-e1c2-11e3-8c4a-0050568002cf", address="Київ, Відділення №33: вул. ...")
    assert isinstance(place, Place) and place.branch_ref == "kyiv-33"


def test_a_house_number_in_the_address_is_not_taken_for_a_branch(filled):
    unresolved = resolve(filled, "Київ", None, address="вул. Хрещатик, буд. №33")
    assert isinstance(unresolved, Unresolved) and unresolved.reason.startswith("no Nova Poshta branch number")


def test_an_empty_directory_says_how_to_fill_it(engine):
    assert resolve(engine, "Київ", "Відділення №33") == Unresolved(
        "the Nova Poshta directory is empty: run `shopsync carriers refresh --kind nova_poshta`")


def test_ukrposhta_is_addressed_by_postcode(engine):
    assert resolve(engine, "м. Київ", "Відділення 01001", carrier="ukrposhta") == Place(
        None, "Київ", None, None, "01001")
    assert resolve(engine, "Київ", None, address="вул. Хрещатик 22, 01001, Київ", carrier="ukrposhta").postcode == (
        "01001")
    assert resolve(engine, "Київ", "Відділення №5", carrier="ukrposhta") == Unresolved(
        "no Ukrposhta postcode (5 digits) in 'Відділення №5'")
    assert resolve(engine, None, "01001", carrier="ukrposhta") == Unresolved(
        "no city given for the Ukrposhta post office 01001")


# --- the texts ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, number, kind", [
    ("Відділення №33", "33", "branch"), ("№ 33", "33", None), ("відділення 33", "33", "branch"),
    ("Поштомат 5012", "5012", "postomat"), ("33", "33", None), ("Пункт приймання-видачі №12", "12", "branch"),
    ("Вантажне відділення №2", "2", "cargo"), ("Відділення №7: вул. Лесі Українки, 5", "7", "branch"),
    ("Вiддiлення №7", "7", "branch"), ("#8", "8", None),
])
def test_branch_numbers_are_read_from_how_people_write_them(text, number, kind):
    parsed = branch_number(text)
    assert parsed is not None and (parsed.number, parsed.kind) == (number, kind)


@pytest.mark.parametrize("text", ["1ec09d88-e1c2-11e3-8c4a-0050568002cf", "wh-8d5a980d-33", "вул. Шевченка", "",
                                  None, "Відділення"])
def test_texts_without_a_branch_number_give_none(text):
    assert branch_number(text) is None


def test_settlement_words_and_districts_are_not_the_city():
    asked = parse_city("Петрівка, Броварський р-н, Київська обл.")
    assert asked is not None and (asked.key, asked.area_key) == ("петрівка", "киівська")
    assert (parse_city("смт Гостомель").key, parse_city("смт Гостомель").name) == ("гостомель", "Гостомель")
    assert parse_city("Бровари Київська обл.").name == "Бровари"
    assert parse_city("Київська обл., м.Бровари").name == "Бровари"
    assert parse_city("Суми").key == "суми"       # a name starting with a prefix letter keeps it
    assert parse_city("  ") is None
