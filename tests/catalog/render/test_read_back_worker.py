"""The read-back worker process: YML offers read back in order, a broken slice reported, a dead worker loud."""

from __future__ import annotations

import pytest

from shopsync.catalog.render.read_back_worker import start_worker
from shopsync.catalog.validation.read_back import FeedUnreadable, yml_offer_columns
from shopsync.runtime.workers import WorkerProcess

OFFER = (b'<offer id="%d" available="true">\n  <price>%d.00</price>\n  <categoryId>7</categoryId>\n'
         b'  <picture> https://x/p/%d.jpg </picture>\n  <stock_quantity>2</stock_quantity>\n'
         b'  <name>Good &amp; %d</name>\n  <param name="a">&lt;b&gt;</param>\n</offer>\n')


def offers(*ids: int) -> bytes:
    return b"".join(OFFER % (good, good, good, good) for good in ids)


def test_results_come_back_in_order_and_match_reading_here():
    worker = start_worker()
    try:
        worker.submit(("rozetka_yml", [offers(1, 2), offers(3)]))
        worker.submit(("rozetka_yml", [offers(4)]))
        first, second = worker.next_result(), worker.next_result()
    finally:
        worker.close()
    assert [part["offer_id"] for part in first] == [["1", "2"], ["3"]]
    assert first[0] == yml_offer_columns(b"<offers>" + offers(1, 2) + b"</offers>", "rozetka_yml")
    assert first[0]["name"] == ["Good & 1", "Good & 2"] and first[0]["pictures"] == ["https://x/p/1.jpg",
                                                                                     "https://x/p/2.jpg"]
    assert second[0]["price"] == ["4.00"]
    assert worker.peak_mb is None or worker.peak_mb < 200       # lxml only, not the whole export's imports


def test_a_slice_that_is_not_xml_comes_back_as_the_reason():
    worker = start_worker()
    try:
        worker.submit(("yml", [offers(1), b"<offer id='2'><price>1</offer>"]))
        result = worker.next_result()
    finally:
        worker.close()
    assert isinstance(result, FeedUnreadable) and "not well-formed XML" in str(result)


def test_a_worker_that_died_is_reported_not_waited_for():
    worker = start_worker()
    worker.process.kill()
    worker.process.wait()
    worker.submit(("yml", [offers(1)]))
    with pytest.raises(RuntimeError, match="read_back_worker ended"):
        worker.next_result()
    worker.close()


def test_a_result_that_cannot_be_read_is_raised_not_waited_for(tmp_path, monkeypatch):
    (tmp_path / "garbled_worker.py").write_text(
        "import sys\n"
        "from shopsync.runtime.workers import HEADER, read_frame\n"
        "read_frame(sys.stdin.buffer)\n"
        "sys.stdout.buffer.write(HEADER.pack(4) + b'junk')\n"
        "sys.stdout.buffer.flush()\n"
        "sys.stdin.buffer.read()\n",
        encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{__import__('os').environ.get('PYTHONPATH', '')}")
    worker = WorkerProcess("garbled_worker")
    try:
        worker.submit(("yml", [offers(1)]))
        with pytest.raises(RuntimeError, match="the worker process garbled_worker ended") as raised:
            worker.next_result()
    finally:
        worker.close()
    assert raised.value.__cause__ is not None


def test_the_worker_never_loads_arrow():
    """It parses XML into lists: Arrow and numpy would add ~60 MB to every export's peak (2026-12-07 bench)."""
    worker = start_worker()
    try:
        worker.submit(("rozetka_yml", [offers(1)]))
        worker.next_result()
        with open(f"/proc/{worker.process.pid}/maps", encoding="utf-8") as maps:
            libraries = {line.split()[-1].rsplit("/", 1)[-1] for line in maps if "/" in line}
    finally:
        worker.close()
    assert not [name for name in libraries if "arrow" in name or "numpy" in name or "openblas" in name]
    assert any("lxml" in name or "etree" in name for name in libraries)
