"""The Great Expectations suite of each feed profile: its rules in plain words (shown in reports), and one
ephemeral GX context per process that builds each profile's validation definition once (GX takes seconds to
import: `warm_up_great_expectations` starts that early).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from shopsync.catalog.validation.read_back import OFFER_COLUMNS, YML_PROFILES
from shopsync.catalog.validation.rules import CONTROL_CHARACTERS_REGEX


@dataclass(frozen=True)
class Rule:
    """One expectation and the plain-language rule it enforces (shown in reports)."""
    expectation: str          # class name in great_expectations.expectations
    rule: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    whole_feed: bool = False  # needs every offer at once (checked on the offer ids alone when in chunks)


def suite_rules(profile: str) -> list[Rule]:
    """The rules for a feed profile; $PARAMETER values are filled per run."""
    def param(name: str) -> dict[str, str]:
        return {"$PARAMETER": name}

    rules = [
        Rule("ExpectTableColumnsToMatchSet", "the feed has every required column",
             {"column_set": list(REQUIRED_OFFER_COLUMNS[profile]), "exact_match": False}),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has an id", {"column": "offer_id"}),
        Rule("ExpectColumnValueLengthsToBeBetween", "offer ids are not empty", {"column": "offer_id", "min_value": 1}),
        Rule("ExpectColumnValuesToBeUnique", "offer ids are unique", {"column": "offer_id"}, whole_feed=True),
        Rule("ExpectColumnValuesToBeNull", "offer ids are the ids of goods that should be published (stable ids)",
             {"column": "unexpected_offer_id"}),
        Rule("ExpectTableRowCountToEqual", "every good that should be published is in the feed",
             {"value": param("expected_offer_count")}, whole_feed=True),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has a name", {"column": "name"}),
        Rule("ExpectColumnValueLengthsToBeBetween", "names are not empty", {"column": "name", "min_value": 1}),
        Rule("ExpectColumnValuesToNotMatchRegex", "names have no control characters",
             {"column": "name", "regex": CONTROL_CHARACTERS_REGEX}),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has a price", {"column": "price"}),
        Rule("ExpectColumnValuesToBeBetween", "prices are above 0",
             {"column": "price", "min_value": 0, "strict_min": True}),
        Rule("ExpectColumnPairValuesAToBeGreaterThanB", "an old price is above the price",
             {"column_A": "old_price", "column_B": "price", "ignore_row_if": "either_value_is_missing"}),
        Rule("ExpectColumnValuesToNotBeNull", "every offer has a stock quantity", {"column": "stock"}),
        Rule("ExpectColumnValuesToBeBetween", "stock is not negative", {"column": "stock", "min_value": 0}),
        Rule("ExpectColumnValuesToBeNull", "stock is a whole number", {"column": "fractional_stock"}),
        Rule("ExpectColumnPairValuesToBeEqual", "stock equals the good's free stock",
             {"column_A": "stock", "column_B": "free_stock", "ignore_row_if": "either_value_is_missing"}),
        Rule("ExpectColumnValuesToBeNull", "every picture file is published", {"column": "missing_pictures"}),
    ]
    if profile in YML_PROFILES:
        rules += [
            Rule("ExpectColumnValuesToNotBeNull", "every offer has a categoryId", {"column": "category_id"}),
            Rule("ExpectColumnValuesToBeNull", "every categoryId is defined in the feed's <categories>",
                 {"column": "undefined_category_id"}),
        ]
    return rules


SuitePart = Literal["all", "rows", "whole_feed"]


def suite_part(profile: str, part: SuitePart) -> list[Rule]:
    """A profile's rules: all of them, the per-row ones (run on each chunk of a large feed), or the ones
    that need the whole feed (run once on its offer ids)."""
    rules = suite_rules(profile)
    if part == "all":
        return rules
    return [rule for rule in rules if rule.whole_feed == (part == "whole_feed")]


REQUIRED_OFFER_COLUMNS = {
    **{profile: OFFER_COLUMNS for profile in YML_PROFILES},
    "torgsoft_csv": ("offer_id", "name", "price", "stock"),
    "woocommerce_csv": ("offer_id", "name", "price", "stock"),
}


class _Gx:
    """One ephemeral GX context per process with one validation definition per profile (building is slow)."""

    _lock = threading.Lock()
    _instance: _Gx | None = None

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        # GX logs its ephemeral set-up (temporary docs site) at INFO: noise in every task log.
        for name in ("great_expectations", "great_expectations.data_context.types.base"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.context = gx.get_context(mode="ephemeral")
        # GX draws a tqdm bar per validation in task logs unless told not to.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.asset = self.context.data_sources.add_pandas(name="shopsync_feeds").add_dataframe_asset(name="offers")
        self.definitions: dict[str, Any] = {}

    @classmethod
    def warm_up(cls) -> threading.Thread:
        """Import GX and build its context in a background thread (GX takes seconds to import), so a process
        that will validate later (`shopsync export`) does it while it waits on the database and the disk."""
        thread = threading.Thread(target=cls.get, name="gx-warm-up", daemon=True)
        thread.start()
        return thread

    @classmethod
    def get(cls) -> _Gx:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def definition(self, profile: str, part: SuitePart = "all") -> Any:
        with self._lock:
            if (profile, part) not in self.definitions:
                self.definitions[profile, part] = self._build(profile, part)
            return self.definitions[profile, part]

    def _build(self, profile: str, part: SuitePart) -> Any:
        name = f"feed_{profile}" if part == "all" else f"feed_{profile}_{part}"
        suite = self.context.suites.add(self.gx.ExpectationSuite(name=name))
        for rule in suite_part(profile, part):
            expectation_class = getattr(self.gx.expectations, rule.expectation)
            suite.add_expectation(expectation_class(**rule.kwargs, meta={"rule": rule.rule}))
        batch = self.asset.add_batch_definition_whole_dataframe(name=name)
        return self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=name, data=batch, suite=suite))


def warm_up_great_expectations() -> threading.Thread:
    return _Gx.warm_up()


def suite_definition(profile: str, part: SuitePart = "all") -> Any:
    """The GX validation definition of this part of the profile's suite (built once per process)."""
    return _Gx.get().definition(profile, part)


def prepare_suites(profiles: Iterable[str]) -> None:
    """Import GX and build the validation definitions of these profiles now (in this thread)."""
    gx = _Gx.get()
    for profile in profiles:
        gx.definition(profile)

