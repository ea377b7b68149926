"""A written feed validated: read back (or the offers the writer already read back), the check columns
added, the profile's suite run on it (chunk by chunk for a large feed), and the failed expectations in words
with examples of offending offers.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopsync.catalog.validation.checks import CheckInputs, add_check_columns, arrow_strings
from shopsync.catalog.validation.read_back import FeedData, FeedUnreadable, read_feed
from shopsync.catalog.validation.suite import REQUIRED_OFFER_COLUMNS, SuitePart, suite_definition, suite_rules

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

EXAMPLES = 5                                                          # offending values shown per failure

@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str                 # GX expectation type, e.g. "expect_column_values_to_be_unique"
    column: str | None
    unexpected_count: int | None     # offending rows (None for table-level checks)
    examples: list[str]
    rule: str = ""                   # the rule in words


@dataclass
class FeedValidation:
    success: bool
    rows: int
    failures: list[ExpectationFailure]
    seconds: float
    profile: str = ""
    path: str = ""

    def summary(self) -> str:
        head = f"{Path(self.path).name or self.profile} ({self.profile}): {self.rows} offers"
        if self.success:
            return f"{head}, valid ({self.seconds:.1f} s)"
        failed = "; ".join(
            f"{f.rule or f.expectation}"
            + (f" [{f.column}]" if f.column else "")
            + (f": {f.unexpected_count} rows" if f.unexpected_count is not None else "")
            for f in self.failures
        )
        return f"{head}, INVALID: {failed}"


def validate_feed(
    path: Path,
    profile: str,
    expected: pd.DataFrame,
    encoding: str = "utf-8",
    published_photo_dir: Path | None = None,
    data: FeedData | Iterable[FeedData] | None = None,
) -> FeedValidation:
    """Read the written feed back and run the profile's suite on it.

    `data` is the feed already read back (its offers, as the writer parsed its own output): then the file
    is not read again. It may come in chunks (consecutive offers of the feed, at least one chunk): the suite
    then runs per chunk without its whole-feed rules, which run once on the offer ids of every chunk, so
    memory holds one chunk, not the feed.
    `expected` has good_id and free_stock for every good that should be in the feed.
    `published_photo_dir` is where the photos are published from (process_photos' output_dir): see
    PublishedPhotos.has for when a picture counts as present.
    """
    started = time.perf_counter()
    try:
        if data is None:
            data = read_feed(path, profile, encoding)
    except FeedUnreadable as exc:
        return unreadable_feed(path, profile, [str(exc)], started)
    checks = CheckInputs.of(expected, published_photo_dir)
    chunks = iter([data] if isinstance(data, FeedData) else data)
    first = next(chunks)
    second = next(chunks, None)
    if second is None:
        rows, failures = len(first.frame), _checked_chunk(first, profile, "all", checks)
    else:
        rows, failures = _checked_in_chunks(itertools.chain([first, second], chunks), profile, checks)
    order = {rule.rule: index for index, rule in enumerate(suite_rules(profile))}
    failures = sorted(failures, key=lambda f: order.get(f.rule, len(order)))
    return FeedValidation(not failures, rows, failures, time.perf_counter() - started, profile, str(path))


def _checked_chunk(data: FeedData, profile: str, part: SuitePart, checks: CheckInputs) -> list[ExpectationFailure]:
    add_check_columns(data, checks)
    failures = _run_suite(data, profile, part, checks, _absent_columns(data, profile))
    if data.malformed_rows:
        failures.append(ExpectationFailure(
            "shopsync_rows_match_header", None, len(data.malformed_rows),
            [f"line {line}" for line in data.malformed_rows[:EXAMPLES]],
            "every row has as many fields as the header"))
    return failures


def _checked_in_chunks(chunks: Iterable[FeedData], profile: str,
                       checks: CheckInputs) -> tuple[int, list[ExpectationFailure]]:
    """Per-row rules chunk by chunk, then the whole-feed rules on the offer ids of all of them."""
    import pandas as pd
    import pyarrow as pa

    failures = _MergedFailures()
    offer_ids: list[pa.Array] = []      # Arrow, not the chunks' Series: those would keep each chunk's frame alive
    rows = 0
    absent: set[str] = set()
    for chunk in chunks:
        failures.add(_checked_chunk(chunk, profile, "rows", checks))
        absent = _absent_columns(chunk, profile)
        frame = chunk.frame
        ids = frame["offer_id"] if "offer_id" in frame else pd.Series([None] * len(frame), dtype=object)
        offer_ids.append(arrow_strings(ids))
        rows += len(frame)
    whole = FeedData(pd.DataFrame({"offer_id": pa.chunked_array(offer_ids, pa.string()).to_pandas()}))
    failures.add(_run_suite(whole, profile, "whole_feed", checks, absent))
    return rows, failures.merged()


class _MergedFailures:
    """One failure per expectation over every chunk: counts added, the first EXAMPLES examples kept."""

    def __init__(self) -> None:
        self.found: dict[tuple, ExpectationFailure] = {}

    def add(self, failures: list[ExpectationFailure]) -> None:
        for failure in failures:
            key = (failure.expectation, failure.column, failure.rule)
            before = self.found.get(key)
            if before is None:
                self.found[key] = failure
            elif before.unexpected_count is not None and failure.unexpected_count is not None:
                self.found[key] = replace(before, unexpected_count=before.unexpected_count + failure.unexpected_count,
                                          examples=(before.examples + failure.examples)[:EXAMPLES])

    def merged(self) -> list[ExpectationFailure]:
        return list(self.found.values())


def _absent_columns(data: FeedData, profile: str) -> set[str]:
    return set(REQUIRED_OFFER_COLUMNS[profile]) - set(data.frame.columns)


def unreadable_feed(path: Path, profile: str, problems: list[str], started: float) -> FeedValidation:
    """The result for a feed whose written bytes could not be read back as offers."""
    failure = ExpectationFailure("shopsync_feed_is_readable", None, None, problems[:EXAMPLES],
                                 "the written feed can be read back")
    return FeedValidation(False, 0, [failure], time.perf_counter() - started, profile, str(path))


def _run_suite(data: FeedData, profile: str, part: SuitePart, checks: CheckInputs,
               absent: set[str]) -> list[ExpectationFailure]:
    """The failed expectations of one part of the profile's suite on data (absent: required feed columns
    the feed lacks, reported once by the table-columns check)."""
    definition = suite_definition(profile, part)
    # Not unexpected_index_column_names: GX then reads every unexpected row cell by cell (minutes when a
    # whole 100k feed fails a rule). Row numbers are cheap; _examples maps them to offer ids.
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
    outcome = definition.run(
        batch_parameters={"dataframe": data.frame},
        expectation_parameters={"expected_offer_count": checks.expected_count},
        result_format=result_format,
    )
    failures = []
    for item in outcome.results:
        if item.success:
            continue
        failure = _failure(item, data, checks, absent)
        if failure is not None:
            failures.append(failure)
    return failures


def _failure(item: Any, data: FeedData, checks: CheckInputs, absent: set[str]) -> ExpectationFailure | None:
    config = item.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or (f"{kwargs['column_A']}, {kwargs['column_B']}" if "column_A" in kwargs else None)
    rule = (config.meta or {}).get("rule", "")
    exception = item.exception_info or {}
    if _raised(exception):
        if {kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")} & absent:
            return None          # the missing column is already reported by the table-columns check
        return ExpectationFailure(config.type, column, None, [_exception_message(exception)], rule)
    details = item.result or {}
    if config.type == "expect_table_columns_to_match_set":
        return ExpectationFailure(config.type, None, None, [f"missing column: {name}" for name in data.missing_columns]
                                  or [f"missing: {', '.join(sorted(absent))}"], rule)
    if config.type == "expect_table_row_count_to_equal":
        return ExpectationFailure(config.type, None, None, _row_count_examples(data, checks), rule)
    examples = _examples(details, _columns_of(kwargs), data.frame)
    return ExpectationFailure(config.type, column, details.get("unexpected_count"), examples, rule)


def _raised(exception: dict) -> bool:
    if exception.get("raised_exception"):
        return True
    return any(isinstance(info, dict) and info.get("raised_exception") for info in exception.values())


def _exception_message(exception: dict) -> str:
    if exception.get("exception_message"):
        return str(exception["exception_message"])
    for info in exception.values():
        if isinstance(info, dict) and info.get("exception_message"):
            return str(info["exception_message"])
    return "the expectation could not be evaluated"


def _columns_of(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    return [kwargs[key] for key in ("column_A", "column_B") if key in kwargs]


def _examples(details: dict, columns: list[str], frame: pd.DataFrame) -> list[str]:
    """'offer '12': price=0' for the first unexpected rows (GX gives their row numbers and values)."""
    values = details.get("partial_unexpected_list") or []
    rows = details.get("partial_unexpected_index_list") or []
    examples = []
    for position, value in enumerate(values[:EXAMPLES]):
        parts = value if len(columns) > 1 and isinstance(value, (tuple, list)) else [value]
        described = ", ".join(f"{name}={_plain(part)}" for name, part in zip(columns, parts, strict=False))
        row = rows[position] if position < len(rows) else None
        if columns == ["offer_id"]:
            examples.append(f"offer {_plain(value)}")
        elif isinstance(row, numbers.Integral) and "offer_id" in frame:
            examples.append(f"offer {_plain(frame['offer_id'].iat[row])}: {described}")
        else:
            examples.append(described)
    return examples


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(missing)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)             # shows control characters and empty strings
    return str(getattr(value, "item", lambda: value)())


def _row_count_examples(data: FeedData, checks: CheckInputs) -> list[str]:
    offer_ids = data.frame["offer_id"] if "offer_id" in data.frame else data.frame.index.to_series().iloc[:0]
    missing = checks.missing_goods(offer_ids)
    examples = [f"{len(data.frame)} offers, {checks.expected_count} expected"]
    if missing:
        examples.append(f"missing goods: {', '.join(missing[:EXAMPLES])}" + (" …" if len(missing) > EXAMPLES else ""))
    return examples

