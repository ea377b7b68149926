"""Shop files for tests: the demo shop's settings with changes, written where a test wants them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEMO = Path(__file__).resolve().parents[1] / "include" / "shops" / "demo.yaml"


def shop_settings(shop_id: str = "shop", **changes: Any) -> dict:
    """The demo shop's settings as a dict, with another id and `changes` applied (dotted keys allowed)."""
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["id"] = shop_id
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split(".")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return data


def write_shop(directory: Path, data: dict) -> Path:
    path = directory / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
