"""Database positions: which state of the accounting database a snapshot, a feed set, a manifest shows.

A position is the text of the extract transaction's `pg_current_snapshot()` ("xmin:xmax:xip,..."), taken as
the first statement of its REPEATABLE READ transaction (include/sql/extract/read_position.sql), so it names
exactly the transactions whose changes the extract saw: every txid below xmax except the ones listed as in
progress. Why not the WAL LSN or xmin alone: `pg_current_wal_lsn()` is not tied to the transaction's snapshot
(commits after the snapshot move it on) and fails on a standby; xmin alone stays put while one long
transaction runs, so two reads minutes apart can share it. Snapshot texts are 64-bit txids (with epoch) of one
cluster, so later snapshots never see less than earlier ones: comparing the sets of transactions they see is
a total order for snapshots of one cluster (an aborted transaction counts as seen, which only makes a later
snapshot look newer, never older).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    xmin: int
    xmax: int
    in_progress: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Position:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))

    def sees(self, txid: int) -> bool:
        return txid < self.xmax and txid not in self.in_progress

    def sees_something_unseen_by(self, other: Position) -> bool:
        """A transaction this snapshot sees that `other` does not."""
        if self.xmax > other.xmax and any(self.sees(x) for x in _some_of(other.xmax, self.xmax, self.in_progress)):
            return True
        return any(self.sees(x) for x in other.in_progress)


def _some_of(start: int, stop: int, skip: frozenset[int]) -> list[int]:
    """Enough txids of [start, stop) to find one not in `skip` (at most len(skip) + 1 of them)."""
    return list(range(start, min(stop, start + len(skip) + 1)))


def is_older(ours: str | None, theirs: str | None) -> bool:
    """True when `theirs` shows a database state newer than `ours` (a transaction ours has not seen).
    Unknown positions (None: written before positions were recorded) are never older."""
    if not ours or not theirs:
        return False
    return Position.parse(theirs).sees_something_unseen_by(Position.parse(ours))


def older_datasets(ours: dict[str, str], theirs: dict[str, str]) -> list[str]:
    """The data sets whose position in `ours` is older than in `theirs`."""
    return sorted(name for name, position in ours.items() if is_older(position, theirs.get(name)))
