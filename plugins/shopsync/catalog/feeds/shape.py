"""The shapes a feed writer declares: which rows it takes, in which order, and how it writes them.

Kept apart from the writers (no pyarrow, no lxml) so that the build stage's route table imports cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RowKind = Literal["catalog", "customers", "certificates"]
RowOrder = Literal["good_id", "model_group", "stored"]    # "stored": as the snapshot holds them


@dataclass(frozen=True)
class Shape:
    """What a writer needs, declared by it: which rows, in which order, and how it writes them.

    `form` "fragments": the writer renders whole feed batches (columns.FEED_SCHEMA) into one text per good
    with pyarrow compute (FragmentWriter), so the catalog pass can write, read back and cache each good.
    `form` "rows": the writer takes Python rows (CatalogItem, CustomerRow, CertificateRow) one by one.
    The build stage (catalog/build.py) has one source per shape; a writer declares one of these.
    """
    rows: RowKind
    order: RowOrder
    form: Literal["fragments", "rows"]


GOODS_FRAGMENTS = Shape("catalog", "good_id", "fragments")
GOODS_BY_ID = Shape("catalog", "good_id", "rows")
GOODS_BY_MODEL_GROUP = Shape("catalog", "model_group", "rows")
CUSTOMERS = Shape("customers", "stored", "rows")
CERTIFICATES = Shape("certificates", "stored", "rows")
