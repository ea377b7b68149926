"""The classifier (category tree), characteristic kinds and which kinds apply to which category.

This reference part does not depend on the seed: ids, kinds and category kind sets are the same for
every seed and every number of goods, so shop mappings and feed settings can rely on them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from shopsync.seed.codes import scatter
from shopsync.seed.kinds import NAMED_KINDS, TECHNICAL_KINDS, Kind, KindUse, Value
from shopsync.seed.vocab import CATEGORY_TREE, CategoryNode

DEMO_SHOP_ID = "demo"
TECHNICAL_KINDS_PER_CATEGORY = (8, 20)


@dataclass(frozen=True)
class Category:
    id: int
    parent_id: int | None
    node: CategoryNode
    root: str                 # key of the root category
    sort_order: int


@dataclass(frozen=True)
class KindSlot:
    """A kind as a category's goods use it: where the value comes from and which values are possible."""

    kind_id: int
    source: str | None
    values: tuple[Value, ...]


@dataclass
class CategoryKinds:
    always: list[KindSlot] = field(default_factory=list)     # every good of the category carries these
    optional: list[KindSlot] = field(default_factory=list)   # a good carries a sample of these


@dataclass
class Catalog:
    categories: list[Category]
    leaves_by_root: dict[str, list[Category]]
    kinds: dict[str, tuple[int, Kind]]                # slug -> (id, kind)
    category_kinds: dict[int, CategoryKinds]          # leaf category id -> its kinds

    def category_characteristic_pairs(self) -> list[tuple[int, int]]:
        return sorted(
            (category_id, slot.kind_id)
            for category_id, kinds in self.category_kinds.items()
            for slot in kinds.always + kinds.optional
        )


def build_catalog() -> Catalog:
    categories = list(walk_tree())
    kinds = register_kinds()
    leaves_by_root: dict[str, list[Category]] = {}
    category_kinds = {}
    for category in categories:
        if not category.node.children:
            leaves_by_root.setdefault(category.root, []).append(category)
            category_kinds[category.id] = kinds_of_leaf(category, kinds)
    return Catalog(categories, leaves_by_root, kinds, category_kinds)


def walk_tree() -> list[Category]:
    """Categories parents first, ids derived from positions (see shopsync.seed.vocab)."""
    found = []

    def visit(node: CategoryNode, category_id: int, parent_id: int | None, root: str, sort_order: int) -> None:
        found.append(Category(category_id, parent_id, node, root, sort_order))
        for position, child in enumerate(node.children, start=1):
            visit(child, category_id * 100 + position, category_id, root, position)

    for position, root in enumerate(CATEGORY_TREE, start=1):
        visit(root, position, None, root.key, position)
    return found


def register_kinds() -> dict[str, tuple[int, Kind]]:
    """Every kind once, ids in order of first appearance; names and slugs must be unique."""
    registered: dict[str, tuple[int, Kind]] = {}
    names: dict[str, str] = {}
    all_kinds = [use.kind for uses in NAMED_KINDS.values() for use in uses]
    all_kinds += [kind for kinds in TECHNICAL_KINDS.values() for kind in kinds]
    for kind in all_kinds:
        if kind.slug in registered:
            known = registered[kind.slug][1]
            if (known.name, known.unit) != (kind.name, kind.unit):
                raise ValueError(f"characteristic slug {kind.slug!r} used for {known.name!r} and {kind.name!r}")
            continue
        if names.setdefault(kind.name, kind.slug) != kind.slug:
            raise ValueError(f"characteristic name {kind.name!r} has two slugs")
        registered[kind.slug] = (len(registered) + 1, kind)
    return registered


def kinds_of_leaf(category: Category, kinds: dict[str, tuple[int, Kind]]) -> CategoryKinds:
    """Named kinds of the root that apply to this leaf, plus a stable sample of the root's technical kinds."""
    result = CategoryKinds()
    seen: set[int] = set()
    for use in NAMED_KINDS[category.root]:
        if use.leaves is not None and category.node.key not in use.leaves:
            continue
        slot = slot_for(use, kinds)
        if slot.kind_id in seen:
            continue
        seen.add(slot.kind_id)
        (result.always if use.always else result.optional).append(slot)
    technical = TECHNICAL_KINDS[category.root]
    rng = random.Random(f"category-kinds:{category.id}")
    for kind in rng.sample(technical, rng.randint(*TECHNICAL_KINDS_PER_CATEGORY)):
        result.optional.append(KindSlot(kinds[kind.slug][0], kind.source, kind.values))
    return result


def slot_for(use: KindUse, kinds: dict[str, tuple[int, Kind]]) -> KindSlot:
    kind_id, kind = kinds[use.kind.slug]
    values = use.values if use.values is not None else use.kind.values
    return KindSlot(kind_id, use.source or kind.source, values)


# Rows ---------------------------------------------------------------------------------------------------
CATEGORY_COLUMNS = ["id", "parent_id", "name", "name_ua", "sort_order", "is_active"]
SHOP_CATEGORY_COLUMNS = ["shop_id", "category_id", "external_id", "external_name"]
KIND_COLUMNS = ["id", "name", "slug", "unit"]
CATEGORY_KIND_COLUMNS = ["category_id", "kind_id"]


def category_rows(catalog: Catalog) -> list[tuple]:
    return [(c.id, c.parent_id, c.node.name, c.node.name_ua, c.sort_order, True) for c in catalog.categories]


def shop_category_rows(catalog: Catalog) -> list[tuple]:
    """The demo shop maps every leaf to a marketplace category id (Rozetka-style numbers)."""
    return [
        (DEMO_SHOP_ID, leaf.id, str(4_000_000 + scatter(leaf.id, 6)), leaf.node.name_ua)
        for leaves in catalog.leaves_by_root.values()
        for leaf in leaves
    ]


def kind_rows(catalog: Catalog) -> list[tuple]:
    return [(kind_id, kind.name, kind.slug, kind.unit) for kind_id, kind in catalog.kinds.values()]
