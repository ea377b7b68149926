"""The validation report and its escaper."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from validation_feeds import expected_for, item, offers, validate_yml, write_torgsoft

from shopsync.catalog.columns import batch_from_items
from shopsync.catalog.model import FeedContext
from shopsync.catalog.validation.report import markdown_cell, summarize, write_report
from shopsync.catalog.validation.results import validate_feed
from shopsync.catalog.validation.rules import Rejections, split_batch


def test_report_names_failures_counts_examples_and_excluded_goods(tmp_path: Path, ctx: FeedContext) -> None:
    rows = offers()
    rows[1]["price"] = "0"
    bad = validate_yml(tmp_path, rows)
    good_rows = offers()
    good = validate_feed(write_torgsoft(tmp_path / "TSGoods.trs", good_rows), "torgsoft_csv",
                         expected_for(good_rows), "cp1251")
    rejections = Rejections()
    split_batch(batch_from_items([item(good_id=7, name="Туфлі | <b>", price=Decimal(0))]), ctx, rejections)

    summary = write_report([bad, good], rejections, tmp_path / "reports" / "validation.md", title="demo")

    text = (tmp_path / "reports" / "validation.md").read_text(encoding="utf-8")
    assert "`expect_column_values_to_be_between`" in text
    assert "| prices are above 0 | price | 1 | offer '2': price=0 |" in text
    assert "**FAILED**" in text and "passed" in text
    assert "| 7 | Туфлі \\| &lt;b&gt; | price is 0 |" in text
    assert summary == summarize([bad, good], rejections)
    assert summary.startswith("2 feeds validated, 1 invalid; 1 goods excluded (price is 0 1)")
    assert "prices are above 0 [price]: 1 rows" in summary


def test_markdown_cell_escapes() -> None:
    assert markdown_cell("a|b\nc\x01<i>") == "a\\|b<br>c\\x01&lt;i&gt;"
