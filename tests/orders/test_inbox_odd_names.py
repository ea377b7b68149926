"""A file whose name is not valid UTF-8 neither breaks the inbox listing nor hides the other files, on each
transport; it can be read and moved like any other (the ingest then quarantines it, asking for a rename)."""

from __future__ import annotations

import os

import pytest
from test_inbox_transports import InboxSetup, inbox_setup  # noqa: F401 - the fixture

from shopsync.orders.inbox import FileVanished

ODD = b"orders-\xff\xfe.json"


def drop_odd(setup: InboxSetup) -> bytes:
    setup.drop("good.json", b"[]")
    odd_path = os.fsencode(setup.directory) + b"/" + ODD
    with open(odd_path, "wb") as stream:
        stream.write(b"[1]")
    moment = os.stat(os.fsencode(setup.directory) + b"/good.json").st_mtime
    os.utime(odd_path, (moment, moment))
    return odd_path


@pytest.mark.parametrize("inbox_setup", ["local", "sftp"], indirect=True)
def test_a_name_that_is_not_utf8_can_be_listed_read_and_quarantined(inbox_setup: InboxSetup) -> None:  # noqa: F811
    drop_odd(inbox_setup)
    inbox = inbox_setup.open()

    names = sorted(file.name for file in inbox.list_ready())

    assert len(names) == 2 and "good.json" in names
    odd = next(name for name in names if name != "good.json")
    assert inbox.read(odd, max_bytes=100) == b"[1]"
    moved = inbox.quarantine(odd, {"reason": "the file name is not valid UTF-8"})
    assert os.path.exists(os.fsencode(inbox_setup.directory) + b"/quarantine/" + ODD), moved
    assert os.path.exists(os.fsencode(inbox_setup.directory) + b"/quarantine/" + ODD + b".error.json")


# pyftpdlib itself replaces the bytes it cannot decode ('?'), so the name it lists cannot be read back; what
# matters is that the listing still works and the other files are taken (the ingest skips the odd one).
@pytest.mark.parametrize("inbox_setup", ["ftp", "plain_ftp"], indirect=True)
def test_over_ftp_a_name_that_is_not_utf8_does_not_break_the_listing(inbox_setup: InboxSetup) -> None:  # noqa: F811
    drop_odd(inbox_setup)
    inbox = inbox_setup.open()

    names = [file.name for file in inbox.list_ready()]

    assert "good.json" in names
    for name in names:
        if name != "good.json":
            with pytest.raises(FileVanished):
                inbox.read(name, max_bytes=100)


@pytest.mark.parametrize("inbox_setup", ["local"], indirect=True)
def test_log_lines_about_a_name_that_is_not_utf8_are_utf8(inbox_setup: InboxSetup, caplog) -> None:  # noqa: F811
    """A log handler writing UTF-8 (Airflow's task log, pytest-xdist) fails on a lone surrogate."""
    drop_odd(inbox_setup)
    inbox = inbox_setup.open()
    odd = next(file.name for file in inbox.list_ready() if file.name != "good.json")

    with caplog.at_level("INFO", logger="shopsync"):
        inbox.quarantine(odd, {"reason": "the file name is not valid UTF-8"})

    assert caplog.records
    for record in caplog.records:
        record.getMessage().encode("utf-8")
