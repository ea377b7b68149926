"""Shop settings: one YAML file per shop -> validated models; errors name the file and the key."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shopsync.core.channel_settings import ChannelSettings
from shopsync.core.errors import ConfigError
from shopsync.core.fulfilment_settings import BankDetails, CarrierSettings, FulfilmentSettings, carriers_list
from shopsync.core.paths import shops_dir
from shopsync.core.schedules import cron_schedule

SHOP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ITEM_KEY = re.compile(r"^\d+\.[a-z_]+: ")

# The feed profiles, and the published file of each when the settings name none: the one list of them.
# Here, so that settings are checked without importing the writers; catalog/feeds registers one writer per
# profile (checked on import) and the writers' default_file is read from here.
DEFAULT_FEED_FILES = {
    "torgsoft_csv": "TSGoods.trs", "yml": "yml.xml", "prom_yml": "prom.xml", "rozetka_yml": "rozetka.xml",
    "woocommerce_csv": "woocommerce.csv", "customers_csv": "customers.csv",
    "wholesale_prices_csv": "wholesale_prices.csv", "gift_certificates_csv": "gift_certificates.csv",
}
FEED_PROFILES = tuple(DEFAULT_FEED_FILES)
# The marketplace each profile's feed is for: its categories carry that marketplace's ids, from the map
# `<shop's map key>/<channel>` (docs/decisions.md, "Categories per marketplace"). The one table of them.
PROFILE_CHANNELS = {"prom_yml": "prom", "rozetka_yml": "rozetka", "woocommerce_csv": "woocommerce"}
MAP_CHANNELS = tuple(dict.fromkeys(PROFILE_CHANNELS.values()))
# What a feed does about categories with offers but no marketplace id, when its settings say nothing.
DEFAULT_UNMAPPED_CATEGORIES = {"prom_yml": "warn", "rozetka_yml": "warn"}          # every other profile: ignore
# Feed settings that check a feed without shaping its bytes: left out of the content and cache fingerprints.
FEED_CHECK_SETTINGS = frozenset({"unmapped_categories"})
# Names the destination keeps for itself: the manifest and the photos directory.
RESERVED_FILE_NAMES = ("manifest.json", "photos")
def file_name_problem(name: str) -> str | None:
    """Why `name` is not a plain file name that stays in its directory and is not one of the destination's
    own, or None when it is one."""
    if problem := plain_name_problem(name):
        return problem
    if name.casefold() in RESERVED_FILE_NAMES:
        return f"is reserved for the destination's own files ({', '.join(RESERVED_FILE_NAMES)})"
    return None


def delta_name(file_name: str) -> str:
    """The delta file published beside a feed: prom.xml -> prom.delta.xml."""
    stem, dot, ext = file_name.rpartition(".")
    return f"{stem}.delta.{ext}" if dot else f"{file_name}.delta"


def plain_name_problem(name: str) -> str | None:
    """Why `name` would not stay in the directory it is joined to, or None."""
    if not name.strip():
        return "must not be empty"
    if any(separator in name for separator in ("/", "\\", ":")):
        return "must be a plain file name, without /, \\ or :"
    if name.startswith("."):
        return "must not start with a dot (no .., no hidden files)"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "must not contain control characters"
    if any("\udc80" <= char <= "\udcff" for char in name):     # bytes the file system gave that are not UTF-8
        return "is not valid UTF-8 (rename the file)"
    if len(name.encode("utf-8")) > 255:
        return "is longer than 255 bytes"
    return None


def plain_file_name(name: str) -> str:
    if problem := file_name_problem(name):
        raise ValueError(f"{name!r} {problem}")
    return name


def shop_id_problem(shop_id: str) -> str | None:
    if SHOP_ID.fullmatch(shop_id):
        return None
    return "must be lower-case letters, digits and _ (starting with a letter), at most 40"


def check_shop_id(shop_id: str, what: str = "--shop") -> str:
    """A shop id as given by an operator (the CLI's --shop): a slug, so it never names a path."""
    if problem := shop_id_problem(shop_id):
        raise ConfigError(f"{what}: {shop_id!r} is not a shop id: {problem}")
    return shop_id


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedSettings(Strict):
    profile: Literal[FEED_PROFILES]  # type: ignore[valid-type]   # Literal["torgsoft_csv", "yml", ...]
    file: str | None = None                      # published file name; each profile has a default
    encoding: Literal["utf-8", "utf-8-sig", "cp1251"] = "utf-8"
    columns: list[str] | None = None             # torgsoft_csv: column set and order
    characteristic_columns: dict[str, str] = Field(default_factory=dict)  # column -> characteristic name
    header: bool = True
    delta: bool = False                          # also publish a delta file of changed goods
    # categories with offers but no marketplace id: ignore, warn (in the run summary) or block the publish;
    # default warn for prom_yml and rozetka_yml, ignore otherwise (DEFAULT_UNMAPPED_CATEGORIES)
    unmapped_categories: Literal["ignore", "warn", "block"] | None = None

    @field_validator("file")
    @classmethod
    def file_is_plain_name(cls, value: str | None) -> str | None:
        return None if value is None else plain_file_name(value)

    @model_validator(mode="after")
    def unmapped_needs_a_marketplace(self) -> FeedSettings:
        if self.unmapped_categories not in (None, "ignore") and self.channel is None:
            raise ValueError(f"unmapped_categories: {self.profile} feeds carry no marketplace category ids; only "
                             f"{', '.join(PROFILE_CHANNELS)} have a category map of their own")
        return self

    @property
    def channel(self) -> str | None:
        """The marketplace whose category ids the feed carries (PROFILE_CHANNELS); None: the shop-level map."""
        return PROFILE_CHANNELS.get(self.profile)

    @property
    def unmapped_policy(self) -> str:
        """What the build does about categories with offers but no marketplace id (always ignore for a feed of
        no marketplace)."""
        if self.channel is None:
            return "ignore"
        return self.unmapped_categories or DEFAULT_UNMAPPED_CATEGORIES.get(self.profile, "ignore")

    @property
    def file_name(self) -> str:
        """The published file name: the one in the settings, else the profile's default."""
        return self.file or DEFAULT_FEED_FILES[self.profile]

    @property
    def published_names(self) -> list[str]:
        """Every file this feed may publish: its file, and with `delta` the delta file beside it."""
        return [self.file_name, delta_name(self.file_name)] if self.delta else [self.file_name]


class PhotoSize(Strict):
    name: str                                    # the directory of this size under photos/
    width: Annotated[int, Field(gt=0, le=5000)]
    height: Annotated[int, Field(gt=0, le=5000)]

    @field_validator("name")
    @classmethod
    def name_is_plain(cls, value: str) -> str:
        return plain_file_name(value)


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

    @field_validator("sizes")
    @classmethod
    def size_names_unique(cls, sizes: list[PhotoSize]) -> list[PhotoSize]:
        clash = _first_clash([size.name for size in sizes])
        if clash:
            first, second = clash
            raise ValueError(f"{second}.name: {sizes[second].name!r} is also the name of size {first} "
                             "(names are compared ignoring case)")
        return sizes


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

    @field_validator("schedule")
    @classmethod
    def schedule_is_cron(cls, value: str) -> str:
        return cron_schedule(value)

    @model_validator(mode="after")
    def remote_needs_connection(self) -> OrdersInbox:
        if self.kind != "local" and not self.conn_id:
            raise ValueError(f"orders_inbox kind {self.kind!r} needs conn_id (an Airflow Connection id)")
        return self


class OrderChecks(Strict):
    """When an order that lands is flagged for a person to look at (see docs/operations.md, orders guarantees)."""
    # a line priced below this share of the good's accounting (retail) price; 0 turns the check off
    min_price_share: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.5")
    # one order asking for more than this share of a good's free stock (at the shop's warehouses, before it
    # reserves) and for more than share_min_quantity units: nothing of that good is reserved until confirmed
    max_free_stock_share: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.5")
    share_min_quantity: Annotated[Decimal, Field(ge=0)] = Decimal("10")


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
    order_checks: OrderChecks = Field(default_factory=OrderChecks)
    channels: list[ChannelSettings] = Field(default_factory=list)
    # `carrier:` in the file: one carrier or a list, the first the default (core/fulfilment_settings.py)
    carriers: list[CarrierSettings] = Field(default_factory=list, validation_alias=AliasChoices("carrier", "carriers"))
    bank_details: BankDetails | None = None
    fulfilment: FulfilmentSettings = Field(default_factory=FulfilmentSettings)
    owner: str = "shopsync"
    alert_emails: list[str] = Field(default_factory=list)
    # shrink guard: a feed losing more than this share of the last published one's rows is not published
    max_drop_percent: Annotated[float, Field(ge=0, le=100)] = 20.0

    @field_validator("id")
    @classmethod
    def id_is_slug(cls, value: str) -> str:
        if problem := shop_id_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("schedule")
    @classmethod
    def schedule_is_cron(cls, value: str) -> str:
        return cron_schedule(value)

    @field_validator("feeds")
    @classmethod
    def feed_file_names_unique(cls, feeds: list[FeedSettings]) -> list[FeedSettings]:
        owners = [(position, name) for position, feed in enumerate(feeds) for name in feed.published_names]
        clash = _first_clash([name for _, name in owners])
        if clash:
            (first, _), (second, name) = owners[clash[0]], owners[clash[1]]
            raise ValueError(f"{second}.file: {name!r} is also published by feed {first} ({feeds[first].profile}; "
                             "names are compared ignoring case, delta files included)")
        return feeds

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

    @field_validator("channels")
    @classmethod
    def one_account_per_channel(cls, channels: list[ChannelSettings]) -> list[ChannelSettings]:
        if twice := _listed_twice([channel.kind for channel in channels]):
            raise ValueError(f"channel listed twice: {twice}")
        prefixes = [channel.invoice_prefix.casefold() for channel in channels]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("two channels have the same order_prefix: their order numbers could collide")
        return channels

    @field_validator("carriers", mode="before")
    @classmethod
    def carrier_or_list(cls, value: object) -> object:
        return carriers_list(value)

    @field_validator("carriers")
    @classmethod
    def one_account_per_carrier(cls, carriers: list[CarrierSettings]) -> list[CarrierSettings]:
        if twice := _listed_twice([carrier.kind for carrier in carriers]):
            raise ValueError(f"carrier listed twice: {twice}")
        return carriers

    def carrier(self, kind: str | None = None) -> CarrierSettings:
        """The shop's carrier of this kind, or its default (the first listed)."""
        for carrier in self.carriers:
            if kind is None or carrier.kind == kind:
                return carrier
        wanted = f"carrier {kind!r}" if kind else "carrier"
        raise ConfigError(f"shop {self.id!r} has no {wanted} in its settings (`carrier:` in the shop file)")

    def channel(self, kind: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.kind == kind:
                return channel
        raise ConfigError(f"shop {self.id!r} has no channel {kind!r} in its settings")

    @property
    def category_map_key(self) -> str:
        """The shop-level map's key in shop_category_map (feeds of no marketplace, and the fallback)."""
        return self.category_map or self.id

    def channel_map_key(self, channel: str) -> str:
        """The key of a marketplace's own map: `<category_map_key>/<channel>`."""
        return f"{self.category_map_key}/{channel}"

    @property
    def map_channels(self) -> list[str]:
        """The marketplaces whose maps the shop's feeds read, in the order of the feeds."""
        return list(dict.fromkeys(feed.channel for feed in self.feeds if feed.channel))

    @property
    def photo_base_url(self) -> str:
        return (self.photos.base_url or f"{self.url}/photos").rstrip("/")


def _listed_twice(kinds: list[str]) -> str:
    """The kinds a list names more than once, for a message ('' when none)."""
    return ", ".join(sorted({kind for kind in kinds if kinds.count(kind) > 1}))


def _first_clash(names: list[str]) -> tuple[int, int] | None:
    """Positions of the first two names that are equal ignoring case (one file on any file system)."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        key = name.casefold()
        if key in seen:
            return seen[key], position
        seen[key] = position
    return None


def _format_validation_error(path: Path, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if key and ITEM_KEY.match(message):     # a list's validator naming the item's key: "2.file: ..."
            problems.append(f"{key}.{message}")
        else:                                   # a model validator's message names its key itself
            problems.append(f"{key}: {message}" if key else message)
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


def scan_shops(directory: Path | None = None) -> tuple[list[ShopSettings], list[ConfigError]]:
    """Every shop file of the directory: the valid shops, and one error per invalid file (for the DAG files:
    a broken shop file must not take the other shops' DAGs down with it)."""
    directory = directory or shops_dir()
    if not directory.is_dir():
        return [], [ConfigError(f"{directory}: shop settings directory does not exist (set SHOPSYNC_SHOPS_DIR)")]
    shops, problems = [], []
    for path in shop_files(directory):
        try:
            shops.append(load_shop(path))
        except ConfigError as exc:
            problems.append(exc)
    return shops, problems


def get_shop(shop_id: str, directory: Path | None = None) -> ShopSettings:
    check_shop_id(shop_id, "shop id")
    directory = directory or shops_dir()
    path = directory / f"{shop_id}.yaml"
    if not path.exists():
        known = ", ".join(p.stem for p in shop_files(directory)) or "none"
        raise ConfigError(f"no shop {shop_id!r} in {directory} (known: {known})")
    return load_shop(path)
