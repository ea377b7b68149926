"""Words the seed builds goods from: the category tree, per-root brands, colours, sizes, description phrases.

Category ids are derived from positions in CATEGORY_TREE (root i -> i, its j-th child -> i*100+j, that
child's k-th child -> (i*100+j)*100+k), so append new entries at the end of a list to keep ids stable.
Goods names and category names are Russian (`name`, the accounting program's main language) with a
Ukrainian twin (`name_ua`); attribute values (colour, season, country, characteristics) are Ukrainian.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryNode:
    key: str
    name: str                      # Russian
    name_ua: str
    item: str = ""                 # singular noun for goods names (leaves), Russian
    item_ua: str = ""
    price: tuple[int, int] = (0, 0)             # retail price range of its goods, UAH
    children: tuple[CategoryNode, ...] = ()
    sizes: tuple[str, ...] | None = None        # overrides the root's size axis
    colours: tuple[Colour, ...] | None = None   # overrides the root's colours
    sexes: tuple[int, ...] | None = None        # overrides the root's sex codes
    materials: tuple[tuple[str, str], ...] | None = None   # overrides the root's materials


@dataclass(frozen=True)
class Colour:
    name_ua: str
    name: str          # Russian
    code: str          # ASCII, for articles


@dataclass(frozen=True)
class Brand:
    name: str
    country: str       # Ukrainian country name of the brand's home
    supplier: str      # supplier code in the accounting database


@dataclass(frozen=True)
class RootProfile:
    """How goods under one root category look: variants, units, brands, phrases."""

    weight: int                                  # share of models, relative
    unit: str
    sizes_by_sex: dict[int, tuple[str, ...]]     # -1: any sex not listed
    sizes_per_model: tuple[int, int]
    colours: tuple[Colour, ...]
    colours_per_model: tuple[int, int]
    sexes: tuple[int, ...]                       # repeated codes act as weights
    seasons: tuple[str, ...]
    collections: tuple[str, ...]
    brands: tuple[Brand, ...]
    materials: tuple[tuple[str, str], ...]       # (Ukrainian, Russian)
    sentences: tuple[tuple[str, str], ...]       # (Russian, Ukrainian) templates


def leaf(key: str, name: str, name_ua: str, item: str, item_ua: str, price: tuple[int, int], **extra) -> CategoryNode:
    return CategoryNode(key, name, name_ua, item, item_ua, price, **extra)


def branch(key: str, name: str, name_ua: str, *children: CategoryNode) -> CategoryNode:
    return CategoryNode(key, name, name_ua, children=children)


# Sex codes of goods (goods.sex, Torgsoft `Sex`): 0 not set, 1 men, 2 women, 3 unisex, 4 boys, 5 girls.
SEX_NAMES = {0: "не вказано", 1: "чоловіча", 2: "жіноча", 3: "унісекс", 4: "для хлопчиків", 5: "для дівчаток"}

LETTER_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
KIDS_SIZES = ("98", "104", "110", "116", "122", "128", "134", "140", "146", "152")
JEANS_SIZES = ("26", "27", "28", "29", "30", "31", "32", "33", "34", "36")
WOMEN_SHOE_SIZES = ("35", "36", "37", "38", "39", "40", "41")
MEN_SHOE_SIZES = ("39", "40", "41", "42", "43", "44", "45", "46")
KIDS_SHOE_SIZES = ("28", "29", "30", "31", "32", "33", "34", "35")
BEDDING_SIZES = ("Полуторний", "Двоспальний", "Євро", "Сімейний")


def _colours(*triples: str) -> tuple[Colour, ...]:
    return tuple(Colour(triples[i], triples[i + 1], triples[i + 2]) for i in range(0, len(triples), 3))


FASHION_COLOURS = _colours(
    "чорний", "черный", "BLK", "білий", "белый", "WHT", "сірий", "серый", "GRY", "бежевий", "бежевый", "BEG",
    "коричневий", "коричневый", "BRN", "синій", "синий", "BLU", "червоний", "красный", "RED",
    "зелений", "зеленый", "GRN", "рожевий", "розовый", "PNK", "бордовий", "бордовый", "BRD", "хакі", "хаки", "KHK",
    "молочний", "молочный", "MLK", "оливковий", "оливковый", "OLV", "пудровий", "пудровый", "PWD",
    "блакитний", "голубой", "LBL", "жовтий", "желтый", "YLW",
)
SHOE_COLOURS = FASHION_COLOURS[:8] + _colours("бордовий", "бордовый", "BRD", "золотий", "золотой", "GLD",
                                              "срібний", "серебряный", "SLV", "пудровий", "пудровый", "PWD")
HOME_COLOURS = _colours(
    "білий", "белый", "WHT", "сірий", "серый", "GRY", "бежевий", "бежевый", "BEG", "графітовий", "графитовый", "GRF",
    "м'ятний", "мятный", "MNT", "теракотовий", "терракотовый", "TRC", "синій", "синий", "BLU",
    "чорний", "черный", "BLK", "оливковий", "оливковый", "OLV", "рожевий", "розовый", "PNK",
)
TECH_COLOURS = _colours(
    "чорний", "черный", "BLK", "білий", "белый", "WHT", "сріблястий", "серебристый", "SLV",
    "графітовий", "графитовый", "GRF", "синій", "синий", "BLU", "зелений", "зеленый", "GRN",
    "фіолетовий", "фиолетовый", "VIO", "золотистий", "золотистый", "GLD",
)
LIPSTICK_SHADES = _colours(
    "01 Nude", "01 Nude", "N01", "05 Rose", "05 Rose", "R05", "101 Red", "101 Red", "R10", "205 Berry", "205 Berry",
    "B20", "310 Coral", "310 Coral", "C31", "420 Plum", "420 Plum", "P42", "530 Cherry", "530 Cherry", "C53",
)
FOUNDATION_SHADES = _colours(
    "01 Porcelain", "01 Porcelain", "P01", "02 Ivory", "02 Ivory", "I02", "03 Light Beige", "03 Light Beige", "L03",
    "04 Natural", "04 Natural", "N04", "05 Sand", "05 Sand", "S05", "06 Honey", "06 Honey", "H06",
)
MASCARA_SHADES = _colours("чорний", "черный", "BLK", "коричневий", "коричневый", "BRN", "синій", "синий", "BLU")
NO_COLOUR: tuple[Colour, ...] = ()

COUNTRIES_OF_MANUFACTURE = ("Китай", "Туреччина", "В'єтнам", "Україна", "Польща", "Індія", "Італія")


def _brands(*pairs: str, supplier_prefix: str) -> tuple[Brand, ...]:
    return tuple(
        Brand(pairs[i], pairs[i + 1], f"{supplier_prefix}{i // 2 + 1:03d}") for i in range(0, len(pairs), 2)
    )


OUTERWEAR = (("поліестер", "полиэстер"), ("нейлон", "нейлон"), ("екошкіра", "экокожа"))
COOKWARE = (("нержавіюча сталь", "нержавеющая сталь"), ("алюміній", "алюминий"), ("чавун", "чугун"))
TABLEWARE = (("кераміка", "керамика"), ("скло", "стекло"), ("порцеляна", "фарфор"))
TEXTILE = (("бавовна", "хлопок"), ("сатин", "сатин"), ("бязь", "бязь"), ("льон", "лен"), ("мікрофібра", "микрофибра"))

CATEGORY_TREE: tuple[CategoryNode, ...] = (
    branch(
        "clothes", "Одежда", "Одяг",
        leaf("dresses", "Платья", "Сукні", "Платье", "Сукня", (599, 4999), sexes=(2, 2, 2, 5)),
        branch(
            "outerwear", "Верхняя одежда", "Верхній одяг",
            leaf("jackets", "Куртки", "Куртки", "Куртка", "Куртка", (1499, 8999), materials=OUTERWEAR),
            leaf("coats", "Пальто", "Пальта", "Пальто", "Пальто", (2499, 11999),
                 materials=(("вовна", "шерсть"), ("кашемір", "кашемир"))),
            leaf("down_jackets", "Пуховики", "Пуховики", "Пуховик", "Пуховик", (2999, 12999), materials=OUTERWEAR),
        ),
        leaf("tshirts", "Футболки и майки", "Футболки та майки", "Футболка", "Футболка", (199, 1299),
             materials=(("бавовна", "хлопок"), ("трикотаж", "трикотаж"), ("льон", "лен"))),
        leaf("jeans", "Джинсы", "Джинси", "Джинсы", "Джинси", (799, 3999), sizes=JEANS_SIZES,
             materials=(("денім", "деним"),)),
        leaf("sweaters", "Свитеры", "Светри", "Свитер", "Светр", (699, 3499)),
        leaf("skirts", "Юбки", "Спідниці", "Юбка", "Спідниця", (449, 2999), sexes=(2, 2, 5)),
        leaf("shirts", "Рубашки", "Сорочки", "Рубашка", "Сорочка", (499, 2499)),
        leaf("underwear", "Нижнее белье", "Білизна", "Комплект белья", "Комплект білизни", (249, 1999),
             materials=(("бавовна", "хлопок"), ("шовк", "шелк"), ("мереживо", "кружево"))),
    ),
    branch(
        "shoes", "Обувь", "Взуття",
        branch(
            "boots", "Ботинки", "Черевики",
            leaf("ankle_boots", "Ботильоны", "Ботильйони", "Ботильоны", "Ботильйони", (1499, 5999), sexes=(2,)),
            leaf("chelsea", "Челси", "Челсі", "Челси", "Челсі", (1299, 4999)),
            leaf("combat_boots", "Берцы", "Берці", "Берцы", "Берці", (1599, 5499)),
        ),
        branch(
            "pumps_group", "Туфли", "Туфлі",
            leaf("pumps", "Лодочки", "Човники", "Туфли-лодочки", "Туфлі-човники", (999, 4499), sexes=(2,)),
            leaf("ballet_flats", "Балетки", "Балетки", "Балетки", "Балетки", (599, 2499), sexes=(2, 2, 5)),
        ),
        leaf("sneakers", "Кроссовки", "Кросівки", "Кроссовки", "Кросівки", (899, 5999)),
        leaf("high_boots", "Сапоги", "Чоботи", "Сапоги", "Чоботи", (1999, 8999), sexes=(2, 2, 2, 5)),
        leaf("sandals", "Сандалии", "Сандалі", "Сандалии", "Сандалі", (499, 2999)),
        leaf("slippers", "Тапочки", "Капці", "Тапочки", "Капці", (149, 799)),
    ),
    branch(
        "cosmetics", "Косметика", "Косметика",
        branch(
            "face_care", "Уход за лицом", "Догляд за обличчям",
            leaf("face_creams", "Кремы для лица", "Креми для обличчя", "Крем для лица", "Крем для обличчя",
                 (189, 2499), sizes=("30 мл", "50 мл", "75 мл")),
            leaf("serums", "Сыворотки", "Сироватки", "Сыворотка", "Сироватка", (249, 2999)),
            leaf("face_masks", "Маски", "Маски", "Маска для лица", "Маска для обличчя", (149, 899)),
        ),
        branch(
            "makeup", "Декоративная косметика", "Декоративна косметика",
            leaf("lipsticks", "Помады", "Помади", "Помада", "Помада", (199, 1499), colours=LIPSTICK_SHADES),
            leaf("mascara", "Тушь", "Туш", "Тушь для ресниц", "Туш для вій", (179, 1199), colours=MASCARA_SHADES),
            leaf("foundation", "Тональные средства", "Тональні засоби", "Тональный крем", "Тональний крем",
                 (249, 2199), colours=FOUNDATION_SHADES),
        ),
        leaf("perfume", "Парфюмерия", "Парфумерія", "Парфюмированная вода", "Парфумована вода", (599, 7999),
             sizes=("30 мл", "50 мл", "100 мл"),
             materials=(("бергамот", "бергамот"), ("мускус", "мускус"), ("ваніль", "ваниль"), ("сандал", "сандал"))),
        leaf("hair_care", "Уход за волосами", "Догляд за волоссям", "Шампунь", "Шампунь", (149, 999)),
        leaf("body_care", "Уход за телом", "Догляд за тілом", "Лосьон для тела", "Лосьйон для тіла", (149, 1299)),
        leaf("manicure", "Маникюр", "Манікюр", "Лак для ногтей", "Лак для нігтів", (149, 599),
             colours=LIPSTICK_SHADES),
    ),
    branch(
        "home", "Дом", "Дім",
        branch(
            "cookware", "Посуда", "Посуд",
            leaf("pans", "Сковороды", "Сковорідки", "Сковорода", "Сковорода", (399, 3999),
                 sizes=("20 см", "24 см", "26 см", "28 см"), materials=COOKWARE),
            leaf("pots", "Кастрюли", "Каструлі", "Кастрюля", "Каструля", (449, 4499), materials=COOKWARE),
            leaf("cups", "Чашки", "Чашки", "Чашка", "Чашка", (149, 699), materials=TABLEWARE),
        ),
        branch(
            "textile", "Текстиль", "Текстиль",
            leaf("bedding", "Постельное белье", "Постільна білизна", "Комплект постельного белья",
                 "Комплект постільної білизни", (899, 4999), sizes=BEDDING_SIZES, materials=TEXTILE),
            leaf("towels", "Полотенца", "Рушники", "Полотенце", "Рушник", (179, 999),
                 sizes=("50×90", "70×140", "100×150"), materials=TEXTILE),
            leaf("blankets", "Пледы", "Пледи", "Плед", "Плед", (499, 2999), sizes=("150×200", "200×220"),
                 materials=(("мікрофібра", "микрофибра"), ("вовна", "шерсть"), ("бавовна", "хлопок"))),
        ),
        leaf("lighting", "Освещение", "Освітлення", "Светильник", "Світильник", (299, 5999),
             materials=(("метал", "металл"), ("скло", "стекло"), ("дерево", "дерево"))),
        leaf("decor", "Декор", "Декор", "Ваза", "Ваза", (199, 2499), materials=TABLEWARE),
        leaf("storage", "Хранение", "Зберігання", "Контейнер для хранения", "Контейнер для зберігання", (149, 1499),
             materials=(("пластик", "пластик"), ("скло", "стекло"), ("бамбук", "бамбук"))),
    ),
    branch(
        "electronics", "Электроника", "Електроніка",
        leaf("smartphones", "Смартфоны", "Смартфони", "Смартфон", "Смартфон", (3999, 15999),
             sizes=("128 ГБ", "256 ГБ", "512 ГБ")),
        leaf("laptops", "Ноутбуки", "Ноутбуки", "Ноутбук", "Ноутбук", (8999, 15999)),
        leaf("headphones", "Наушники", "Навушники", "Наушники", "Навушники", (299, 7999)),
        leaf("tvs", "Телевизоры", "Телевізори", "Телевизор", "Телевізор", (6999, 15999),
             sizes=('32"', '43"', '50"', '55"', '65"')),
        branch(
            "appliances", "Бытовая техника", "Побутова техніка",
            leaf("vacuums", "Пылесосы", "Пилососи", "Пылесос", "Пилосос", (1999, 14999)),
            leaf("kettles", "Чайники", "Чайники", "Электрочайник", "Електрочайник", (499, 2999)),
            leaf("microwaves", "Микроволновки", "Мікрохвильові печі", "Микроволновая печь", "Мікрохвильова піч",
                 (2499, 7999)),
            leaf("blenders", "Блендеры", "Блендери", "Блендер", "Блендер", (799, 4999)),
        ),
        branch(
            "accessories", "Аксессуары", "Аксесуари",
            leaf("chargers", "Зарядные устройства", "Зарядні пристрої", "Зарядное устройство", "Зарядний пристрій",
                 (249, 1999)),
            leaf("cables", "Кабели", "Кабелі", "Кабель", "Кабель", (149, 699), sizes=("1 м", "2 м")),
            leaf("cases", "Чехлы", "Чохли", "Чехол", "Чохол", (149, 999),
                 materials=(("силікон", "силикон"), ("екошкіра", "экокожа"), ("пластик", "пластик"))),
        ),
        leaf("smartwatches", "Умные часы", "Розумні годинники", "Смарт-часы", "Смарт-годинник", (1499, 14999)),
    ),
)

FASHION_COLLECTIONS = ("Весна-Літо 2024", "Осінь-Зима 2024/25", "Весна-Літо 2025", "Осінь-Зима 2025/26", "Basic")

ROOT_PROFILES: dict[str, RootProfile] = {
    "clothes": RootProfile(
        weight=30, unit="шт",
        sizes_by_sex={4: KIDS_SIZES, 5: KIDS_SIZES, -1: LETTER_SIZES}, sizes_per_model=(3, 6),
        colours=FASHION_COLOURS, colours_per_model=(1, 3),
        sexes=(1, 1, 2, 2, 2, 2, 3, 4, 5), seasons=("Весна-Осінь", "Літо", "Зима", "Демісезон", "Всесезон"),
        collections=FASHION_COLLECTIONS,
        brands=_brands("Arber", "Україна", "Cardo", "Україна", "Gepur", "Україна", "Must Have", "Україна",
                       "H&M", "Швеція", "Marks & Spencer", "Велика Британія", "Mango", "Іспанія",
                       "LC Waikiki", "Туреччина", "Reserved", "Польща", "Tommy Hilfiger", "США",
                       "Dolce & Gabbana", "Італія", "Vovk", "Україна", supplier_prefix="CL"),
        materials=(("бавовна", "хлопок"), ("льон", "лен"), ("віскоза", "вискоза"), ("вовна", "шерсть"),
                   ("трикотаж", "трикотаж"), ("денім", "деним"), ("поліестер", "полиэстер"), ("кашемір", "кашемир")),
        sentences=(
            ("{item} {brand} из материала «{material_ru}» — удобная вещь на каждый день.",
             "{item_ua} {brand} з матеріалу «{material}» — зручна річ на кожен день."),
            ("Модель хорошо держит форму после стирки.", "Модель добре тримає форму після прання."),
            ("Произведено: {country_ru}.", "Виробництво: {country}."),
            ("Легко сочетается с базовым гардеробом.", "Легко поєднується з базовим гардеробом."),
            ("Рекомендуем стирку при 30 °C в деликатном режиме.",
             "Рекомендуємо прання при 30 °C у делікатному режимі."),
            ("Размер соответствует размерной сетке производителя.", "Розмір відповідає розмірній сітці виробника."),
        ),
    ),
    "shoes": RootProfile(
        weight=25, unit="пара",
        sizes_by_sex={1: MEN_SHOE_SIZES, 4: KIDS_SHOE_SIZES, 5: KIDS_SHOE_SIZES, -1: WOMEN_SHOE_SIZES},
        sizes_per_model=(4, 6),
        colours=SHOE_COLOURS, colours_per_model=(1, 2),
        sexes=(1, 1, 2, 2, 2, 3, 4, 5), seasons=("Весна-Осінь", "Літо", "Зима", "Демісезон"),
        collections=FASHION_COLLECTIONS,
        brands=_brands("Tamaris", "Німеччина", "Rieker", "Німеччина", "Ecco", "Данія", "Geox", "Італія",
                       "Marco Tozzi", "Німеччина", "Kadar", "Україна", "Lasocki", "Польща", "Respect", "Україна",
                       "Skechers", "США", "Braska", "Україна", "Fabio Monelli", "Україна", supplier_prefix="SH"),
        materials=(("натуральна шкіра", "натуральная кожа"), ("замша", "замша"), ("нубук", "нубук"),
                   ("текстиль", "текстиль"), ("екошкіра", "экокожа")),
        sentences=(
            ("{item} {brand} из материала «{material_ru}».", "{item_ua} {brand} з матеріалу «{material}»."),
            ("Анатомическая стелька снижает нагрузку на стопу.", "Анатомічна устілка зменшує навантаження на стопу."),
            ("Подошва не скользит на мокром асфальте.", "Підошва не ковзає на мокрому асфальті."),
            ("Страна производства: {country_ru}.", "Країна виробництва: {country}."),
            ("Размер в размер, полнота стандартная.", "Розмір у розмір, повнота стандартна."),
        ),
    ),
    "cosmetics": RootProfile(
        weight=15, unit="шт",
        sizes_by_sex={-1: ()}, sizes_per_model=(1, 3),
        colours=NO_COLOUR, colours_per_model=(1, 4),
        sexes=(2, 2, 2, 2, 1, 3, 3), seasons=("Всесезон",), collections=("", "", "Limited Edition", "Bio"),
        brands=_brands("L'Oréal Paris", "Франція", "Maybelline New York", "США", "Nivea", "Німеччина",
                       "Garnier", "Франція", "Bioderma", "Франція", "La Roche-Posay", "Франція", "Elan", "Україна",
                       "Joko Blend", "Україна", "Marie Fresh", "Україна", "Clinique", "США", "Vichy", "Франція",
                       "Essence", "Німеччина", supplier_prefix="CS"),
        materials=(("гіалуронова кислота", "гиалуроновая кислота"), ("масло ши", "масло ши"),
                   ("пантенол", "пантенол"), ("ніацинамід", "ниацинамид"), ("алое вера", "алоэ вера")),
        sentences=(
            ("{item} {brand} с компонентом «{material_ru}».", "{item_ua} {brand} з компонентом «{material}»."),
            ("Подходит для ежедневного применения.", "Підходить для щоденного застосування."),
            ("Дерматологически протестировано.", "Дерматологічно протестовано."),
            ("Не тестируется на животных.", "Не тестується на тваринах."),
            ("Страна производства: {country_ru}.", "Країна виробництва: {country}."),
        ),
    ),
    "home": RootProfile(
        weight=15, unit="шт",
        sizes_by_sex={-1: ()}, sizes_per_model=(1, 3),
        colours=HOME_COLOURS, colours_per_model=(1, 3),
        sexes=(0,), seasons=("",), collections=("", "", "Scandi", "Loft"),
        brands=_brands("Tefal", "Франція", "Ardesto", "Україна", "Ringel", "Німеччина", "Luminarc", "Франція",
                       "IKEA", "Швеція", "Home Line", "Україна", "Ideia", "Україна", "Tescoma", "Чехія",
                       "Berghoff", "Бельгія", "Arya", "Туреччина", "Tag", "Україна", supplier_prefix="HM"),
        materials=(("кераміка", "керамика"), ("нержавіюча сталь", "нержавеющая сталь"), ("скло", "стекло"),
                   ("бавовна", "хлопок"), ("алюміній", "алюминий"), ("бамбук", "бамбук")),
        sentences=(
            ("{item} {brand} из материала «{material_ru}».", "{item_ua} {brand} з матеріалу «{material}»."),
            ("Создаёт уют в любом интерьере.", "Створює затишок у будь-якому інтер'єрі."),
            ("Легко моется и долго служит.", "Легко миється і довго служить."),
            ("Страна производства: {country_ru}.", "Країна виробництва: {country}."),
            ("Отличная идея для подарка.", "Чудова ідея для подарунка."),
        ),
    ),
    "electronics": RootProfile(
        weight=15, unit="шт",
        sizes_by_sex={-1: ()}, sizes_per_model=(1, 2),
        colours=TECH_COLOURS, colours_per_model=(1, 3),
        sexes=(0,), seasons=("",), collections=("", "2024", "2025"),
        brands=_brands("Samsung", "Південна Корея", "Xiaomi", "Китай", "Apple", "США", "Lenovo", "Китай",
                       "ASUS", "Тайвань", "Sony", "Японія", "JBL", "США", "Philips", "Нідерланди", "Bosch", "Німеччина",
                       "Gorenje", "Словенія", "Ergo", "Україна", "2E", "Україна", "Baseus", "Китай", "LG",
                       "Південна Корея", supplier_prefix="EL"),
        materials=(("пластик", "пластик"), ("алюміній", "алюминий"), ("скло", "стекло"),
                   ("нержавіюча сталь", "нержавеющая сталь")),
        sentences=(
            ("{item} {brand}: корпус — {material_ru}.", "{item_ua} {brand}: корпус — {material}."),
            ("Официальная гарантия производителя.", "Офіційна гарантія виробника."),
            ("Поддерживает быструю зарядку.", "Підтримує швидке заряджання."),
            ("Страна производства: {country_ru}.", "Країна виробництва: {country}."),
            ("Поставляется в фирменной упаковке.", "Постачається у фірмовій упаковці."),
        ),
    ),
}

# Appended to a small share of descriptions: text that feeds must escape (& < > " ').
SPECIAL_SENTENCES: tuple[tuple[str, str], ...] = (
    ('Комплектация: "всё включено" & фирменная коробка.', 'Комплектація: "все включено" & фірмова коробка.'),
    ("Выдерживает температуру < 0 °C и > 30 °C.", "Витримує температуру < 0 °C та > 30 °C."),
    ('Модель "Classic" — хит сезона.', 'Модель "Classic" — хіт сезону.'),
    ("Совет стилиста: <сочетайте с базовыми вещами>.", "Порада стиліста: <поєднуйте з базовими речами>."),
    ("Серия 'Premium' & Co.", "Серія 'Premium' & Co."),
)

COUNTRY_NAMES_RU = {
    "Україна": "Украина", "Китай": "Китай", "Туреччина": "Турция", "В'єтнам": "Вьетнам", "Польща": "Польша",
    "Індія": "Индия", "Італія": "Италия", "Німеччина": "Германия", "Франція": "Франция",
    "Швеція": "Швеция", "Велика Британія": "Великобритания", "Іспанія": "Испания", "США": "США", "Данія": "Дания",
    "Чехія": "Чехия", "Бельгія": "Бельгия", "Південна Корея": "Южная Корея", "Тайвань": "Тайвань",
    "Японія": "Япония", "Нідерланди": "Нидерланды", "Словенія": "Словения",
}

# EAN-13 country prefixes (GS1) by country of manufacture; Ukraine is 482, the US uses 0xx (UPC).
BARCODE_PREFIXES = {
    "Україна": "482", "Китай": "690", "Туреччина": "869", "В'єтнам": "893", "Польща": "590", "Індія": "890",
    "Італія": "800", "Німеччина": "400", "Франція": "300", "Швеція": "730", "Велика Британія": "500",
    "Іспанія": "840", "США": "001", "Данія": "570", "Чехія": "859", "Бельгія": "540", "Південна Корея": "880",
    "Тайвань": "471", "Японія": "450", "Нідерланди": "871", "Словенія": "383",
}
