"""Characteristic kinds ("Колір", "Матеріал верху", "Висота підборів", ...) and where they apply.

Each root category lists the kinds its goods may carry (`KindUse`), optionally only for some of its
leaf categories and with values of their own; on top of the named kinds every root has a family of
generated technical kinds (size-chart measurements, dimensions of parts, ingredient concentrations),
which brings the catalogue to a few hundred kinds. Kind ids follow the order of first appearance here.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopsync.seed.codes import slugify
from shopsync.seed.vocab import LETTER_SIZES

Value = tuple[str, str | None]   # (value, unit overriding the kind's unit or None)

# Where a value comes from when it is not drawn from the kind's pool: the good's own attribute.
# FROM_SIZE_NUMBER: the number in the good's size ('50 мл' -> '50', '128 ГБ' -> '128'), else a pool value.
# FROM_MATERIAL: the material the model's description names.
FROM_COLOUR, FROM_SIZE, FROM_SIZE_NUMBER, FROM_SEASON, FROM_BRAND, FROM_COUNTRY, FROM_INSOLE, FROM_MATERIAL = (
    "colour", "size", "size_number", "season", "brand", "country", "insole", "material",
)


@dataclass(frozen=True)
class Kind:
    name: str
    slug: str
    unit: str | None
    values: tuple[Value, ...]
    source: str | None = None


@dataclass(frozen=True)
class KindUse:
    kind: Kind
    leaves: frozenset[str] | None = None       # only these leaf categories of the root (None: all)
    always: bool = False                       # every good of the category carries it
    values: tuple[Value, ...] | None = None    # values specific to these leaves
    source: str | None = None                  # overrides the kind's source for these leaves


def choice(*values: str) -> tuple[Value, ...]:
    return tuple((value, None) for value in values)


def numbers(low: float, high: float, step: float = 1, decimals: int = 0) -> tuple[Value, ...]:
    count = int(round((high - low) / step)) + 1
    return tuple((f"{low + i * step:.{decimals}f}", None) for i in range(count))


def grams(low: int, high: int, step: int) -> tuple[Value, ...]:
    """Weights in grams; from 1000 g on written in kilograms with the unit overridden to 'кг'."""
    return tuple(
        (f"{weight / 1000:g}", "кг") if weight >= 1000 else (str(weight), None)
        for weight in range(low, high + 1, step)
    )


def use(kind: Kind, *leaves: str, always: bool = False, values: tuple[Value, ...] | None = None,
        source: str | None = None) -> KindUse:
    return KindUse(kind, frozenset(leaves) if leaves else None, always, values, source)


def insole_length_cm(size: str) -> float:
    """Insole length of an EU shoe size (38 -> 24.5 cm), the usual shop-table approximation."""
    return round(int(size) * 2 / 3 - 0.8, 1)


YES_NO = choice("так", "ні")

# Shared by several roots --------------------------------------------------------------------------
COLOUR = Kind("Колір", "tsvet", None, choice("чорний", "білий", "сірий"), FROM_COLOUR)
BRAND = Kind("Виробник", "proizvoditel", None, (), FROM_BRAND)
COUNTRY = Kind("Країна-виробник", "strana_proizvoditel", None, (), FROM_COUNTRY)
SIZE = Kind("Розмір", "razmer", None, (), FROM_SIZE)
SEASON = Kind("Сезон", "sezon", None, choice("Всесезон"), FROM_SEASON)
STYLE = Kind("Стиль", "stil", None, choice("повсякденний", "класичний", "спортивний", "діловий", "вечірній",
                                           "кежуал", "бохо", "мінімалізм"))
FASTENER = Kind("Застібка", "zastezhka", None, choice("блискавка", "ґудзики", "кнопки", "без застібки", "гачки",
                                                    "липучка", "шнурівка"))
INSULATION = Kind("Утеплювач", "uteplitel", None, choice("синтепон", "холофайбер", "пух", "тінсулейт",
                                                       "без утеплювача", "вовна", "штучне хутро"))
PURPOSE = Kind("Призначення", "naznachenie", None, choice("на кожен день", "для офісу", "для вечірки", "для спорту",
                                                        "для дому", "для подорожей"))
DECOR = Kind("Декор", "dekor", None, choice("без декору", "пряжка", "заклепки", "бант", "стрази", "ланцюжок",
                                          "перфорація", "вишивка"))
VOLUME = Kind("Об'єм", "obem", "мл", choice("5", "10", "15", "30", "50", "75", "100", "150", "200", "250", "400"))
POWER = Kind("Потужність", "moshchnost", "Вт", numbers(5, 100, 5))
WARRANTY = Kind("Гарантія", "garantiya", "міс", choice("3", "6", "12", "24", "36"))
DIAMETER = Kind("Діаметр", "diametr", "см", numbers(8, 32, 2))
DIAGONAL = Kind("Діагональ екрана", "diagonal_ekrana", "дюйм", ())
STORAGE = Kind("Вбудована пам'ять", "vstroennaya_pamyat", "ГБ", choice("64", "128", "256", "512", "1024", "2048"))
CABLE_LENGTH = Kind("Довжина кабелю", "dlina_kabelya", "м", choice("0.25", "0.5", "1", "1.2", "1.5", "2", "3"))
CASE_MATERIAL = Kind("Матеріал корпусу", "material_korpusa", None, choice("пластик", "алюміній", "скло",
                                                                        "нержавіюча сталь", "силікон", "екошкіра"))

CLOTHES_KINDS = (
    use(COLOUR, always=True), use(SIZE, always=True), use(BRAND), use(COUNTRY), use(SEASON), use(STYLE),
    use(Kind("Матеріал", "material", None, choice("бавовна", "льон", "віскоза", "поліестер", "вовна", "кашемір",
                                                 "шовк", "трикотаж", "денім", "екошкіра", "футер", "велюр")),
        always=True, source=FROM_MATERIAL),
    use(Kind("Склад", "sostav", None, choice("100% бавовна", "95% бавовна, 5% еластан", "70% вовна, 30% поліамід",
                                             "60% віскоза, 35% поліестер, 5% еластан", "80% бавовна, 20% поліестер",
                                             "100% льон", "50% вовна, 50% акрил", "98% бавовна, 2% еластан"))),
    use(Kind("Крій", "kroy", None, choice("прямий", "приталений", "вільний", "оверсайз", "А-силует", "slim fit",
                                          "regular fit"))),
    use(Kind("Довжина виробу", "dlina_izdeliya", "см", numbers(40, 130))),
    use(Kind("Тип рукава", "tip_rukava", None, choice("короткий", "довгий", "3/4", "без рукавів", "реглан")),
        "dresses", "tshirts", "sweaters", "shirts", "jackets", "coats", "down_jackets"),
    use(FASTENER), use(INSULATION, "jackets", "coats", "down_jackets"),
    use(Kind("Візерунок", "uzor", None, choice("однотонний", "смужка", "клітинка", "квітковий", "горох", "принт",
                                              "абстракція", "леопардовий"))),
    use(Kind("Посадка", "posadka", None, choice("висока", "середня", "низька")), "jeans", "skirts"),
    use(Kind("Виріз горловини", "vyrez", None, choice("круглий", "V-подібний", "човник", "стійка", "хомут")),
        "dresses", "tshirts", "sweaters"),
    use(Kind("Комір", "vorotnik", None, choice("відкладний", "стійка", "капюшон", "без коміра")),
        "shirts", "jackets", "coats", "down_jackets"),
    use(Kind("Кишені", "karmany", None, choice("є", "немає", "2 бічні", "накладні", "приховані"))),
    use(Kind("Підкладка", "podkladka", None, choice("без підкладки", "бавовна", "поліестер", "віскоза", "фліс"))),
    use(Kind("Температурний режим", "temperaturnyy_rezhim", "°C", choice("до -5", "до -10", "до -20", "до -30",
                                                                        "від +10 до 0")),
        "jackets", "coats", "down_jackets"),
    use(Kind("Догляд", "ukhod", None, choice("делікатне прання 30 °C", "ручне прання", "машинне прання 40 °C",
                                             "тільки хімчистка"))),
    use(Kind("Зріст моделі на фото", "rost_modeli", "см", numbers(164, 186))),
    use(Kind("Розмір на моделі", "razmer_na_modeli", None, choice("XS", "S", "M", "L"))),
    use(Kind("Щільність тканини", "plotnost_tkani", "г/м²", numbers(110, 400, 10))),
    use(Kind("Еластичність", "elastichnost", None, choice("низька", "середня", "висока"))),
    use(PURPOSE), use(DECOR),
    use(Kind("Вага виробу", "ves_izdeliya", "г", grams(90, 2400, 10))),
)

SHOES_KINDS = (
    use(COLOUR, always=True), use(SIZE, always=True), use(BRAND), use(COUNTRY), use(SEASON), use(STYLE),
    use(Kind("Матеріал верху", "material_verha", None, choice("натуральна шкіра", "замша", "нубук", "текстиль",
                                                            "екошкіра", "лакова шкіра", "сітка", "велюр")),
        always=True, source=FROM_MATERIAL),
    use(Kind("Матеріал підкладки", "material_podkladki", None, choice("натуральна шкіра", "текстиль", "байка",
                                                                    "натуральне хутро", "вовна", "без підкладки"))),
    use(Kind("Матеріал устілки", "material_stelki", None, choice("натуральна шкіра", "текстиль", "EVA",
                                                               "memory foam"))),
    use(Kind("Матеріал підошви", "material_podoshvy", None, choice("гума", "ТЕП", "поліуретан", "EVA", "шкіра"))),
    use(Kind("Висота підборів", "visota_kabluka", "см", numbers(0, 12, 0.5, 1)),
        "ankle_boots", "chelsea", "pumps", "ballet_flats", "high_boots", "sandals", always=True),
    use(Kind("Тип підборів", "tip_kabluka", None, choice("шпилька", "стійкий", "танкетка", "платформа", "кубічний",
                                                       "без підборів")),
        "ankle_boots", "pumps", "high_boots", "sandals"),
    use(Kind("Висота платформи", "visota_platformy", "см", numbers(0, 6, 0.5, 1))),
    use(Kind("Повнота", "polnota", None, choice("F", "G", "H", "K", "стандартна", "широка"))),
    use(Kind("Довжина устілки", "dlina_stelki", "см", (), FROM_INSOLE)),
    use(Kind("Висота халяви", "visota_golenishcha", "см", numbers(10, 48)), "high_boots", "combat_boots",
        "ankle_boots"),
    use(Kind("Обхват халяви", "obkhvat_golenishcha", "см", numbers(30, 46)), "high_boots"),
    use(Kind("Форма носка", "forma_noska", None, choice("круглий", "гострий", "квадратний", "відкритий"))),
    use(FASTENER), use(INSULATION, "ankle_boots", "chelsea", "combat_boots", "high_boots"), use(PURPOSE), use(DECOR),
    use(Kind("Вага пари", "ves_pary", "г", grams(300, 1600, 10))),
    use(Kind("Ортопедична устілка", "ortopedicheskaya_stelka", None, YES_NO)),
    use(Kind("Водовідштовхувальне просочення", "vodoottalkivayushchaya_propitka", None, YES_NO)),
)

SHADE_LEAVES = ("lipsticks", "foundation", "mascara", "manicure")
COSMETICS_KINDS = (
    use(BRAND, always=True), use(COUNTRY), use(VOLUME, always=True, source=FROM_SIZE_NUMBER),
    use(Kind("Відтінок", "ottenok", None, (), FROM_COLOUR), *SHADE_LEAVES, always=True),
    use(Kind("Тип шкіри", "tip_kozhi", None, choice("для всіх типів", "суха", "жирна", "комбінована", "нормальна",
                                                  "чутлива", "проблемна")),
        "face_creams", "serums", "face_masks", "foundation", "body_care"),
    use(Kind("Тип волосся", "tip_volos", None, choice("нормальне", "сухе", "жирне", "фарбоване", "пошкоджене",
                                                    "тонке", "кучеряве")), "hair_care"),
    use(Kind("Аромат", "aromat", None, choice("без аромату", "квітковий", "цитрусовий", "фруктовий", "деревний",
                                              "східний", "свіжий", "ванільний", "пудровий"))),
    use(Kind("Група ароматів", "gruppa_aromatov", None, choice("квіткові", "деревні", "шипрові", "фужерні",
                                                             "цитрусові", "східні", "гурманські", "альдегідні")),
        "perfume", always=True),
    use(Kind("Верхні ноти", "verkhnie_noty", None, choice("бергамот", "лимон", "рожевий перець", "груша", "мандарин",
                                                        "кардамон", "чорна смородина")), "perfume"),
    use(Kind("Ноти серця", "noty_serdtsa", None, choice("троянда", "жасмин", "ірис", "лаванда", "півонія",
                                                      "тубероза", "фіалка")), "perfume"),
    use(Kind("Базові ноти", "bazovye_noty", None, choice("мускус", "ваніль", "пачулі", "сандал", "амбра", "кедр",
                                                       "ветивер", "боби тонка")), "perfume"),
    use(Kind("Класифікація", "klassifikatsiya", None, choice("люкс", "мас-маркет", "нішева", "селективна")),
        "perfume"),
    use(Kind("Тип аромату", "tip_aromata", None, choice("парфумована вода", "туалетна вода", "парфуми",
                                                      "одеколон")), "perfume"),
    use(Kind("Ефект", "effekt", None, choice("зволоження", "живлення", "відновлення", "матування", "ліфтинг",
                                             "сяяння", "очищення", "anti-age", "заспокоєння"))),
    use(Kind("Активні компоненти", "aktivnye_komponenty", None, choice(
        "гіалуронова кислота", "ніацинамід", "ретинол", "вітамін C", "пантенол", "кераміди", "масло ши",
        "алое вера", "колаген", "саліцилова кислота", "пептиди")),
        "face_creams", "serums", "face_masks", "hair_care", "body_care", "lipsticks", "foundation",
        always=True, source=FROM_MATERIAL),
    use(Kind("Вік", "vozrast", None, choice("18+", "25+", "30+", "35+", "45+", "55+", "без обмежень"))),
    use(Kind("SPF", "spf", None, choice("0", "15", "20", "30", "50", "50+")), "face_creams", "foundation"),
    use(Kind("Фініш", "finish", None, choice("матовий", "сатиновий", "глянцевий", "сяйний", "напівматовий")),
        "lipsticks", "foundation", "manicure"),
    use(Kind("Стійкість", "stoykost", "год", choice("4", "6", "8", "12", "24")),
        "lipsticks", "foundation", "mascara", "perfume", "manicure"),
    use(Kind("Текстура", "tekstura", None, choice("крем", "гель", "флюїд", "сироватка", "пінка", "олійка", "бальзам",
                                                  "спрей", "рідка"))),
    use(Kind("Термін придатності", "srok_godnosti", "міс", choice("6", "12", "18", "24", "30", "36"))),
    use(Kind("Гіпоалергенно", "gipoallergenno", None, YES_NO)),
    use(Kind("Веганський продукт", "vegan", None, YES_NO)),
    use(Kind("Вага нетто", "ves_netto", "г", grams(5, 500, 5))),
    use(Kind("Зона застосування", "zona_primeneniya", None, choice("обличчя", "очі", "губи", "тіло", "волосся",
                                                                 "руки", "нігті"))),
)

HOME_KINDS = (
    use(COLOUR, always=True), use(BRAND), use(COUNTRY), use(STYLE), use(WARRANTY),
    use(SIZE, "pans", "bedding", "towels", "blankets", always=True),
    use(Kind("Матеріал виробу", "material_izdeliya", None, choice(
        "нержавіюча сталь", "алюміній", "чавун", "кераміка", "скло", "порцеляна", "бавовна", "сатин", "бязь", "льон",
        "мікрофібра", "пластик", "дерево", "бамбук")), always=True, source=FROM_MATERIAL),
    use(Kind("Габарити (Д×Ш×В)", "gabarity", "см", choice("20×20×10", "30×20×10", "35×25×15", "40×30×20",
                                                        "50×40×30", "25×25×40", "60×40×25"))),
    use(DIAMETER, "pans", always=True, source=FROM_SIZE_NUMBER),
    use(DIAMETER, "pots", "cups", "decor", "lighting"),
    use(Kind("Місткість", "emkost", "л", numbers(0.25, 10, 0.25, 2)), "pots", "cups", "storage", "decor"),
    use(Kind("Покриття", "pokrytie", None, choice("антипригарне", "керамічне", "титанове", "мармурове", "емальоване",
                                                  "без покриття")), "pans", "pots"),
    use(Kind("Для індукційних плит", "dlya_induktsionnykh_plit", None, YES_NO), "pans", "pots"),
    use(Kind("Можна мити в посудомийній машині", "posudomoyka", None, YES_NO), "pans", "pots", "cups", "storage"),
    use(Kind("Кількість предметів", "kolichestvo_predmetov", "шт", numbers(1, 24)), "cups", "storage", "bedding"),
    use(Kind("Щільність", "plotnost", "г/м²", numbers(110, 600, 10)), "bedding", "towels", "blankets"),
    use(Kind("Тип цоколя", "tip_tsokolya", None, choice("E27", "E14", "GU10", "G9", "вбудований LED")), "lighting"),
    use(POWER, "lighting", values=numbers(4, 60, 2)),
    use(Kind("Колірна температура", "tsvetovaya_temperatura", "К", choice("2700", "3000", "4000", "5000", "6500")),
        "lighting"),
    use(Kind("Форма", "forma", None, choice("кругла", "квадратна", "прямокутна", "овальна", "фігурна"))),
    use(Kind("Стиль інтер'єру", "stil_interera", None, choice("сканді", "лофт", "класика", "модерн", "прованс",
                                                            "мінімалізм"))),
    use(Kind("Кімната", "komnata", None, choice("кухня", "вітальня", "спальня", "ванна", "дитяча", "передпокій"))),
    use(Kind("Вага товару", "ves_tovara", "г", grams(50, 6000, 50))),
    use(Kind("Комплектація", "komplektatsiya", None, choice("з кришкою", "без кришки", "подарункова коробка",
                                                          "чохол для зберігання", "базова"))),
)

ELECTRONICS_KINDS = (
    use(COLOUR, always=True), use(BRAND, always=True), use(COUNTRY), use(WARRANTY, always=True),
    use(SIZE, "smartphones", "tvs", "cables", always=True),
    use(DIAGONAL, "smartphones", always=True, values=choice("6.1", "6.4", "6.5", "6.6", "6.7", "6.8")),
    use(DIAGONAL, "laptops", always=True, values=choice("13.3", "14", "15.6", "16", "17.3")),
    use(DIAGONAL, "smartwatches", values=choice("1.3", "1.43", "1.5", "1.8", "1.96")),
    use(DIAGONAL, "tvs", always=True, values=choice("43", "50", "55"), source=FROM_SIZE_NUMBER),
    use(Kind("Роздільна здатність екрана", "razreshenie_ekrana", None, choice(
        "1920x1080", "2560x1440", "3840x2160", "2400x1080", "2778x1284", "1280x800")),
        "smartphones", "laptops", "tvs"),
    use(Kind("Тип матриці", "tip_matritsy", None, choice("IPS", "OLED", "AMOLED", "VA", "QLED", "Mini-LED")),
        "smartphones", "laptops", "tvs", "smartwatches"),
    use(Kind("Частота оновлення", "chastota_obnovleniya", "Гц", choice("60", "90", "120", "144", "165")),
        "smartphones", "laptops", "tvs"),
    use(Kind("Оперативна пам'ять", "operativnaya_pamyat", "ГБ", choice("4", "6", "8", "12", "16", "32")),
        "smartphones", "laptops"),
    use(STORAGE, "smartphones", always=True, source=FROM_SIZE_NUMBER),
    use(STORAGE, "laptops", "smartwatches"),
    use(Kind("Процесор", "protsessor", None, choice(
        "Snapdragon 8 Gen 2", "MediaTek Dimensity 7050", "Apple A16 Bionic", "Exynos 1380", "Intel Core i5-1335U",
        "AMD Ryzen 7 7730U", "Intel Core i7-13700H")), "smartphones", "laptops"),
    use(Kind("Кількість ядер", "kolichestvo_yader", None, choice("4", "6", "8", "10", "12", "16")),
        "smartphones", "laptops"),
    use(Kind("Ємність акумулятора", "emkost_akkumulyatora", "мА·год", numbers(300, 6000, 100)),
        "smartphones", "laptops", "headphones", "smartwatches"),
    use(POWER, "vacuums", "kettles", "microwaves", "blenders", "chargers", "tvs",
        values=numbers(20, 2400, 20)),
    use(Kind("Операційна система", "operatsionnaya_sistema", None, choice(
        "Android 14", "iOS 17", "Windows 11 Home", "Windows 11 Pro", "без ОС", "Tizen", "webOS")),
        "smartphones", "laptops", "tvs", "smartwatches"),
    use(Kind("Бездротові інтерфейси", "besprovodnye_interfeysy", None, choice(
        "Wi-Fi, Bluetooth", "Wi-Fi 6, Bluetooth 5.3, NFC", "Bluetooth 5.0", "Wi-Fi 6E, Bluetooth 5.3")),
        "smartphones", "laptops", "headphones", "tvs", "smartwatches"),
    use(Kind("Версія Bluetooth", "versiya_bluetooth", None, choice("4.2", "5.0", "5.1", "5.2", "5.3", "5.4")),
        "smartphones", "headphones", "smartwatches"),
    use(Kind("NFC", "nfc", None, YES_NO), "smartphones", "smartwatches"),
    use(Kind("Основна камера", "osnovnaya_kamera", "Мп", choice("12", "48", "50", "64", "108", "200")),
        "smartphones"),
    use(Kind("Фронтальна камера", "frontalnaya_kamera", "Мп", choice("8", "12", "16", "20", "32")), "smartphones"),
    use(Kind("Роз'єм", "razem", None, choice("USB Type-C", "Lightning", "micro-USB", "3.5 мм jack")),
        "smartphones", "headphones", "chargers", "cables"),
    use(Kind("Час роботи", "vremya_raboty", "год", numbers(4, 60, 2)), "headphones", "smartwatches", "laptops"),
    use(Kind("Шумозаглушення", "shumopodavlenie", None, choice("активне (ANC)", "пасивне", "немає")),
        "headphones"),
    use(Kind("Тип навушників", "tip_naushnikov", None, choice("вкладиші", "внутрішньоканальні", "накладні",
                                                            "повнорозмірні")), "headphones", always=True),
    use(Kind("Напруга", "napryazhenie", "В", choice("5", "9", "12", "20", "220-240")),
        "chargers", "vacuums", "kettles", "microwaves", "blenders"),
    use(Kind("Клас енергоспоживання", "klass_energopotrebleniya", None, choice("A+++", "A++", "A+", "A", "B")),
        "vacuums", "microwaves", "tvs"),
    use(Kind("Вага", "ves", "г", grams(20, 25000, 20))),
    use(CABLE_LENGTH, "cables", always=True, source=FROM_SIZE_NUMBER),
    use(CABLE_LENGTH, "chargers", "headphones", "kettles"),
    use(Kind("Smart TV", "smart_tv", None, YES_NO), "tvs"),
    use(Kind("Захист від води", "zashchita_ot_vody", None, choice("IP54", "IP67", "IP68", "немає")),
        "smartphones", "headphones", "smartwatches"),
    use(CASE_MATERIAL, always=True, source=FROM_MATERIAL),
)


# Generated technical kinds --------------------------------------------------------------------------
def size_chart_kinds() -> list[Kind]:
    """'Обхват грудей, розмір M' (cm): the size-chart measurements clothes cards carry."""
    measures = (("Обхват грудей", 80, 6), ("Обхват талії", 60, 6), ("Обхват стегон", 86, 6),
                ("Довжина по спинці", 60, 2), ("Ширина плечей", 36, 2), ("Довжина рукава", 56, 1))
    kinds = []
    for measure, smallest, increment in measures:
        for index, size in enumerate(LETTER_SIZES):
            centre = smallest + index * increment
            name = f"{measure}, розмір {size}"
            kinds.append(Kind(name, slugify(name), "см", numbers(centre - 2, centre + 2)))
    return kinds


def foot_chart_kinds() -> list[Kind]:
    """'Ширина стопи, розмір 38' (cm) for shoe sizes 35..46."""
    kinds = []
    for size in range(35, 47):
        insole = insole_length_cm(str(size))
        for measure, value in (("Ширина стопи", insole * 0.38), ("Обхват стопи", insole * 0.95),
                               ("Внутрішня довжина", insole + 0.4)):
            name = f"{measure}, розмір {size}"
            kinds.append(Kind(name, slugify(name), "см", numbers(round(value, 1) - 0.3, round(value, 1) + 0.3,
                                                                  0.1, 1)))
    return kinds


INGREDIENTS = (
    "гіалуронова кислота", "ніацинамід", "ретинол", "вітамін C", "вітамін E", "пантенол", "кераміди", "масло ши",
    "алое вера", "колаген", "саліцилова кислота", "гліколева кислота", "молочна кислота", "азелаїнова кислота",
    "пептиди", "сквалан", "цинк", "центела азіатська", "муцин равлика", "екстракт зеленого чаю", "кофеїн",
    "бакучіол", "арбутин", "сечовина", "гліцерин", "олія жожоба", "олія арганії", "пробіотики", "алантоїн",
    "діоксид титану",
)


def ingredient_kinds() -> list[Kind]:
    """'Концентрація: ніацинамід' (%): what the cosmetics cards list per active ingredient."""
    kinds = []
    for ingredient in INGREDIENTS:
        name = f"Концентрація: {ingredient}"
        kinds.append(Kind(name, slugify(name), "%", numbers(0.1, 20, 0.1, 1)))
    return kinds


Measure = tuple[str, str, tuple[Value, ...]]   # (name, unit, values)


def part_dimension_kinds(parts: tuple[str, ...], measures: tuple[Measure, ...]) -> list[Kind]:
    """'Висота ручки' (cm), 'Вага упаковки' (g): dimensions of a product's parts."""
    return [
        Kind(f"{measure} {part}", slugify(f"{measure} {part}"), unit, values)
        for part in parts
        for measure, unit, values in measures
    ]


DIMENSIONS = (("Довжина", "см", numbers(1, 120)), ("Ширина", "см", numbers(1, 80)),
              ("Висота", "см", numbers(1, 80)), ("Вага", "г", grams(10, 8000, 10)))
HOME_PARTS = ("упаковки", "ручки", "кришки", "основи", "підставки")
ELECTRONICS_PARTS = ("корпусу", "упаковки", "екрана", "підставки", "пульта", "адаптера", "батареї", "кронштейна")

TECHNICAL_KINDS: dict[str, list[Kind]] = {
    "clothes": size_chart_kinds(),
    "shoes": foot_chart_kinds(),
    "cosmetics": ingredient_kinds(),
    "home": part_dimension_kinds(HOME_PARTS, DIMENSIONS + (("Товщина", "мм", numbers(1, 40)),)),
    "electronics": part_dimension_kinds(ELECTRONICS_PARTS, DIMENSIONS),
}

NAMED_KINDS: dict[str, tuple[KindUse, ...]] = {
    "clothes": CLOTHES_KINDS, "shoes": SHOES_KINDS, "cosmetics": COSMETICS_KINDS, "home": HOME_KINDS,
    "electronics": ELECTRONICS_KINDS,
}
