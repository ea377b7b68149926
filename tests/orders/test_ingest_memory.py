"""The ingest of any one inbox file stays under 300 MB of memory, whatever the file holds.

Each hostile file is ingested through a real inbox by a child process (the same code as the DAG task),
which reports its own peak resident memory (VmHWM); the parent checks it, and that the file ended
where it should. Files are written near the limits: the size cap, the JSON value budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_ingest import OLD

from shopsync.orders.formats.decoding import MAX_FILE_BYTES, MAX_JSON_VALUES

PEAK_LIMIT_MB = 300
NEAR_CAP = MAX_FILE_BYTES - 4096

CHILD = """
import json, sys
from pathlib import Path
import sqlalchemy as sa
from shopsync.orders.inbox import open_inbox
from shopsync.orders.ingest import ingest_inbox
from test_ingest import NO_WAIT_BETWEEN_LOOKS, shop_settings
engine = sa.create_engine(sys.argv[1])
shop = shop_settings(Path(sys.argv[2]))
inbox = open_inbox(shop.orders_inbox, Path("/"), tuning=NO_WAIT_BETWEEN_LOOKS)
summary = ingest_inbox(engine, shop, inbox)
# VmHWM: the peak resident set of this process's own memory since it was started (exec); ru_maxrss would
# also count the parent's memory at the fork, since Linux carries it over the exec
status = Path("/proc/self/status").read_text()
peak_mb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
print(json.dumps({"peak_mb": peak_mb, "files": [
    {"name": o.file_name, "quarantined": o.quarantined, "unreadable": o.unreadable, "landed": o.applied + o.flagged,
     "skipped": o.skipped, "rejected": o.rejected} for o in summary.files]}))
"""


def deeply_nested(size: int) -> bytes:
    depth = MAX_JSON_VALUES - 10                                       # deeper still is "too many values"
    return b"[" * depth + b"]" * depth


def many_small_values(size: int) -> bytes:
    count = MAX_JSON_VALUES - 10                                       # just inside the value budget
    return b"[" + b'{"a":0},' * (count // 2) + b"{}]"


def many_zeros(size: int) -> bytes:
    return b"[" + b"0," * (MAX_JSON_VALUES - 10) + b"0]"


def zeros_to_the_cap(size: int) -> bytes:
    """Ten million numbers: as Decimals, over a gigabyte."""
    return b"[" + b"0," * ((size - 2) // 2) + b"0]"


def one_huge_number(size: int) -> bytes:
    head = (b'[{"Client": {"Name": "X"}, "Options": {"OrderNumber": "N-1"}, '
            b'"Goods": [{"GoodID": "101", "Price": 1, "Count": ')
    return head + b"9" * (size - len(head) - 4) + b"}]}]"


def one_huge_exponent(size: int) -> bytes:
    order = b'{"Client": {"Name": "X"}, "Options": {"OrderNumber": "E-%d"}, "Goods": [{"GoodID": "101", ' \
            b'"Price": 1E+999999999, "Count": 1E+999999999}]}'
    return b"[" + b",".join(order % n for n in range(20)) + b"]"


def one_wide_string(size: int) -> bytes:
    """One comment of ~20 MB with a single 4-byte character: Python holds such text at 4 bytes a character."""
    head = b'[{"Client": {"Name": "X"}, "Options": {"OrderNumber": "W-1", "Comment": "\xf0\x9f\x98\x80'
    tail = b'"}, "Goods": [{"GoodID": "101", "Price": "1", "Count": "1"}]}]'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def many_orders_at_the_cap(size: int) -> bytes:
    order = {"Client": {"Name": "Коваленко Олена Петрівна", "MPhone": "+380671234567", "Місто": "Київ",
                        "Address": "вул. Велика Васильківська, 72"},
             "Options": {"OrderNumber": "", "DeliveryAddress": "Відділення №5", "Comment": "Передзвоніть"},
             "Goods": [{"GoodID": "999", "Price": "1958,36", "Count": "1"}]}   # an unknown good: nothing reserved
    one = len(json.dumps(order, ensure_ascii=False).encode()) + 12
    orders = []
    for number in range(min(size // one, MAX_JSON_VALUES // 20)):
        # one number in ten: the others are skipped as already present (quick) but go the whole way too
        order["Options"]["OrderNumber"] = f"M-{number % 5000}"
        orders.append(json.dumps(order, ensure_ascii=False))
    return ("[" + ",".join(orders) + "]").encode()


def over_the_cap(size: int) -> bytes:
    return b"[" + b" " * (size + 8192) + b"]"


HOSTILE: dict[str, tuple[Callable[[int], bytes], str]] = {
    "deeply_nested.json": (deeply_nested, "nested too deeply"),
    "many_small_values.json": (many_small_values, "no known order format"),
    "many_zeros.json": (many_zeros, "no known order format"),
    "zeros_to_the_cap.json": (zeros_to_the_cap, "too many values"),
    "huge_number.json": (one_huge_number, ""),
    "huge_exponents.json": (one_huge_exponent, ""),
    "wide_string.json": (one_wide_string, ""),
    "over_the_cap.json": (over_the_cap, "too large"),
}


def ingest_in_child(db_url: str, inbox: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", CHILD, db_url, str(inbox)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_ingesting_a_hostile_file_stays_under_300_mb(shop_db, db_url, tmp_path, name):
    make, unreadable = HOSTILE[name]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / name
    path.write_bytes(make(NEAR_CAP))
    os.utime(path, (OLD, OLD))
    size_mb = path.stat().st_size / 2**20

    result = ingest_in_child(db_url, inbox)

    print(f"{name}: {size_mb:.1f} MB file, peak {result['peak_mb']:.0f} MB")
    assert result["peak_mb"] < PEAK_LIMIT_MB, result
    [outcome] = result["files"]
    if unreadable:
        assert unreadable in (outcome["unreadable"] or ""), outcome
    else:
        assert outcome["unreadable"] is None and outcome["landed"] + outcome["rejected"] >= 1, outcome
    assert not [entry for entry in inbox.iterdir() if entry.is_file()]     # archived or quarantined


@pytest.mark.slow
def test_ingesting_a_file_of_many_orders_at_the_size_cap_stays_under_300_mb(shop_db, db_url, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "many_orders.json"
    path.write_bytes(many_orders_at_the_cap(NEAR_CAP))
    os.utime(path, (OLD, OLD))
    size_mb = path.stat().st_size / 2**20

    result = ingest_in_child(db_url, inbox)

    print(f"many_orders.json: {size_mb:.1f} MB file, peak {result['peak_mb']:.0f} MB")
    assert result["peak_mb"] < PEAK_LIMIT_MB, result
    [outcome] = result["files"]
    assert outcome["unreadable"] is None and outcome["landed"] == 5000 and outcome["skipped"] > 40_000, outcome


def test_the_orders_side_loads_no_arrow():
    """Arrow and numpy cost the ingest process ~60 MB of its 300 before it reads a byte; orders need neither."""
    code = ("import sys, shopsync.orders.ingest, shopsync.orders.pipeline\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyarrow', 'numpy', 'pandas'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
