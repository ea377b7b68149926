"""Shop settings: one YAML file per shop -> validated models; errors name the file and the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shopsync.errors import ConfigError
from shopsync.paths import project_root, shops_dir

SHOP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

CATALOG_PROFILES = ("torgsoft_csv", "yml", "prom_yml", "rozetka_yml", "woocommerce_csv")
COMPANION_PROFILES = ("customers_csv", "wholesale_prices_csv", "gift_certificates_csv")
ORDER_FORMATS = ("auto", "torgsoft_json", "prom", "rozetka", "woocommerce")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedSettings(Strict):
    profile: Literal[
        "torgsoft_csv", "yml", "prom_yml", "rozetka_yml", "woocommerce_csv",
        "customers_csv", "wholesale_prices_csv", "gift_certificates_csv",
    ]
    file: str | None = None                      # published file name; each profile has a default
    encoding: Literal["utf-8", "utf-8-sig", "cp1251"] = "utf-8"
    columns: list[str] | None = None             # torgsoft_csv: column set and order
    characteristic_columns: dict[str, str] = Field(default_factory=dict)  # column -> characteristic name
    header: bool = True
    delta: bool = False                          # also publish a delta file of changed goods


class PhotoSize(Strict):
    name: str
    width: Annotated[int, Field(gt=0, le=5000)]
    height: Annotated[int, Field(gt=0, le=5000)]


class PhotoSettings(Strict):
    enabled: bool = True
    sizes: list[PhotoSize] = Field(default_factory=lambda: [
        PhotoSize(name="catalog", width=300, height=300),
        PhotoSize(name="detail", width=1200, height=1200),
    ])
    format: Literal["jpeg", "webp"] = "jpeg"
    quality: Annotated[int, Field(ge=30, le=100)] = 85
    base_url: str | None = None                  # where the site serves published photos; default <url>/photos
    detail_size: str | None = None               # the size feeds link to (a name in sizes); default the largest

    @model_validator(mode="after")
    def detail_size_is_listed(self) -> PhotoSettings:
        if self.detail_size is not None and self.detail_size not in [size.name for size in self.sizes]:
            raise ValueError(f"detail_size {self.detail_size!r} is not one of the sizes "
                             f"({', '.join(size.name for size in self.sizes)})")
        return self


class Destination(Strict):
    kind: Literal["local", "ftp", "sftp", "http"]
    path: str = ""                               # directory (local, ftp, sftp) or URL path prefix (http)
    conn_id: str | None = None                   # Airflow Connection with host, login, password / key
    method: Literal["PUT", "POST"] = "PUT"       # http only

    @model_validator(mode="after")
    def remote_needs_connection(self) -> Destination:
        if self.kind != "local" and not self.conn_id:
            raise ValueError(f"destination kind {self.kind!r} needs conn_id (an Airflow Connection id)")
        if self.kind in ("local", "ftp", "sftp") and not self.path:
            raise ValueError(f"destination kind {self.kind!r} needs path")
        return self


class OrdersInbox(Strict):
    kind: Literal["local", "ftp", "sftp"]
    path: str
    conn_id: str | None = None
    format: Literal["auto", "torgsoft_json", "prom", "rozetka", "woocommerce"] = "auto"
    schedule: str = "*/5 * * * *"
    settle_seconds: Annotated[int, Field(ge=0)] = 10   # a file younger than this may still be being written

    @model_validator(mode="after")
    def remote_needs_connection(self) -> OrdersInbox:
        if self.kind != "local" and not self.conn_id:
            raise ValueError(f"orders_inbox kind {self.kind!r} needs conn_id (an Airflow Connection id)")
        return self


class ShopSettings(Strict):
    id: str
    name: str
    url: str
    company: str | None = None
    currency: Literal["UAH", "USD", "EUR", "PLN"] = "UAH"
    warehouses: list[int] = Field(default_factory=list)   # free stock over these; empty = all
    category_map: str | None = None              # key in shop_category_map (defaults to the shop id)
    schedule: str = "0 * * * *"
    on_bad_item: Literal["skip", "fail"] = "skip"
    feeds: Annotated[list[FeedSettings], Field(min_length=1)]
    photos: PhotoSettings = Field(default_factory=PhotoSettings)
    destination: Destination
    orders_inbox: OrdersInbox
    owner: str = "shopsync"
    alert_emails: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def id_is_slug(cls, value: str) -> str:
        if not SHOP_ID.match(value):
            raise ValueError("must be lower-case letters, digits and _ (starting with a letter), at most 40")
        return value

    @field_validator("url")
    @classmethod
    def url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def feed_files_unique(self) -> ShopSettings:
        profiles = [feed.profile for feed in self.feeds]
        duplicates = sorted({p for p in profiles if profiles.count(p) > 1})
        if duplicates:
            raise ValueError(f"feeds: profile listed twice: {', '.join(duplicates)}")
        return self

    @property
    def category_map_key(self) -> str:
        return self.category_map or self.id

    @property
    def photo_base_url(self) -> str:
        return (self.photos.base_url or f"{self.url}/photos").rstrip("/")

    def resolve_path(self, path: str) -> Path:
        """Local paths in settings are relative to the project root."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else project_root() / candidate


def _format_validation_error(path: Path, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}")
    return f"{path}: " + "; ".join(problems)


def load_shop(path: Path) -> ShopSettings:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read shop settings: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    try:
        shop = ShopSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None
    if shop.id != path.stem:
        raise ConfigError(f"{path}: id: {shop.id!r} must match the file name {path.stem!r}")
    return shop


def shop_files(directory: Path | None = None) -> list[Path]:
    directory = directory or shops_dir()
    return sorted(directory.glob("*.yaml"))


def load_shops(directory: Path | None = None) -> list[ShopSettings]:
    directory = directory or shops_dir()
    if not directory.is_dir():
        raise ConfigError(f"{directory}: shop settings directory does not exist (set SHOPSYNC_SHOPS_DIR)")
    return [load_shop(path) for path in shop_files(directory)]


def get_shop(shop_id: str, directory: Path | None = None) -> ShopSettings:
    directory = directory or shops_dir()
    path = directory / f"{shop_id}.yaml"
    if not path.exists():
        known = ", ".join(p.stem for p in shop_files(directory)) or "none"
        raise ConfigError(f"no shop {shop_id!r} in {directory} (known: {known})")
    return load_shop(path)
