"""The validation report: one short paragraph for task logs, and a Markdown file (failed expectations with
examples, excluded goods) rendered from include/templates/validation_report.md.j2 with `markdown_cell` as its
escaper. Nothing here decides a feed's bytes, so the catalog pass's cache does not fingerprint it.
"""

from __future__ import annotations

import os
from pathlib import Path

from shopsync.catalog.validation.results import FeedValidation
from shopsync.catalog.validation.rules import CONTROL_CHARACTERS, Rejections
from shopsync.core.paths import include_dir


def summarize(validations: list[FeedValidation], rejections: Rejections) -> str:
    """One short paragraph for task logs."""
    bad = [v for v in validations if not v.success]
    head = (f"{len(validations)} feeds validated, {len(bad)} invalid" if bad
            else f"{len(validations)} feeds validated, all valid")
    lines = [f"{head}; {rejections.summary()}"]
    lines += [f"  {v.summary()}" for v in bad]
    return "\n".join(lines)


def write_report(validations: list[FeedValidation], rejections: Rejections, path: Path, title: str = "") -> str:
    """Write a Markdown report (failed expectations with examples, excluded goods); return the summary."""
    import jinja2

    summary = summarize(validations, rejections)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(include_dir() / "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, autoescape=False,
    )
    environment.filters["md"] = markdown_cell
    text = environment.get_template("validation_report.md.j2").render(
        title=title, summary=summary, validations=validations, rejections=rejections)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return summary


def markdown_cell(value: object) -> str:
    """Safe inside a Markdown table cell: no raw HTML, pipes escaped, breaks and control characters visible."""
    text = CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")

