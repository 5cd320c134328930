"""The words of purchase texts: translations into the English words of catalog names, words
that say nothing about the material, and how a word is folded before it is compared."""

from __future__ import annotations

import re
import unicodedata


def compose(text: str) -> str:
    """``text`` recomposed (NFC), as the matcher compares catalog keys."""
    # The catalog's keys are decomposed (NFKD); recomposed, Hangul is in syllables again.
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Casefolded, without accents, recomposed (NFC) so Hangul stays in syllables."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped)


#: Words of purchase texts in German, French, Spanish, Japanese, Korean and Chinese, and ERP
#: abbreviations, translated into the English words of catalog names. Element names map to
#: the commodity's English name; forms to the word catalog names use.
TRANSLATIONS: dict[str, tuple[str, ...]] = {
    "oxide": ("oxid", "ox", "oxyde", "oxido", "酸化", "산화", "氧化", "酸化物"),
    "dioxide": ("dioxid", "dioxyde", "dioxido", "二酸化", "이산화", "二氧化"),
    "metal": (
        "metall", "met", "metal", "metallique", "metalico", "メタル", "金属", "금속", "메탈",
    ),
    # Korean and Japanese also write the salt as a word after the metal ("망간 황산염").
    "sulphate": (
        "sulfat", "sulfate", "sulfato", "sulphate", "sulf", "硫酸", "황산", "황산염", "硫酸塩",
        "硫酸盐",
    ),
    "hydroxide": (
        "hydroxid", "hydroxyde", "hidroxido", "水酸化", "수산화", "氢氧化", "水酸化物", "수산화물",
        "氢氧化物",
    ),
    "carbonate": ("carbonat", "karbonat", "carbonato", "炭酸", "탄산", "碳酸"),
    "concentrate": (
        "konzentrat", "konz", "conc", "concentre", "concentrado", "精鉱", "정광", "精矿",
    ),
    "ore": ("erz", "minerai", "mineral", "鉱石", "광석", "矿"),
    "powder": ("pulver", "pulv", "pulv.", "poudre", "polvo", "粉", "粉末", "파우더", "분말"),
    "wire": ("draht", "drht", "fil", "alambre", "線", "선", "线"),
    "magnet": ("magnet", "magnete", "aimant", "iman", "磁石", "자석", "磁体", "磁铁"),
    "chloride": ("chlorid", "chlorure", "cloruro", "塩化", "염화", "氯化"),
    "tetrachloride": (
        "tetrachlorid", "tetrachlorure", "tetracloruro", "四塩化", "사염화", "四氯化",
    ),
    "carbide": ("carbid", "karbid", "carbure", "carburo", "炭化", "탄화", "碳化"),
    "steel": ("stahl", "acier", "acero", "鋼", "강", "钢"),
    "sponge": ("schwamm", "eponge", "esponja", "スポンジ", "스펀지", "海绵"),
    "cathode": ("kathode", "kathoden", "cathode", "catodo", "カソード", "캐소드", "阴极"),
    "ingot": ("barren", "lingot", "lingote", "インゴット", "잉곳", "锭"),
    "dysprosium": ("dysprosium", "disprosio", "dy", "ジスプロシウム", "디스프로슘", "镝"),
    "terbium": ("terbium", "terbio", "tb", "テルビウム", "테르븀", "铽"),
    "neodymium": ("neodym", "neodyme", "neodimio", "nd", "ネオジム", "네오디뮴", "钕"),
    "praseodymium": (
        "praseodym", "praseodyme", "praseodimio", "プラセオジム", "프라세오디뮴", "镨",
    ),
    "samarium": ("samario", "サマリウム", "사마륨", "钐"),
    "gadolinium": ("gadolinio", "ガドリニウム", "가돌리늄", "钆"),
    "yttrium": ("itrio", "イットリウム", "이트륨", "钇"),
    "lanthanum": ("lanthan", "lanthane", "lantano", "ランタン", "란탄", "镧"),
    "cerium": ("cer", "cerio", "セリウム", "세륨", "铈"),
    "cobalt": ("kobalt", "cobalto", "co", "コバルト", "코발트", "钴"),
    "nickel": ("nickel", "niquel", "ni", "ニッケル", "니켈", "镍"),
    "manganese": ("mangan", "manganese", "manganeso", "mn", "マンガン", "망간", "锰"),
    "lithium": ("lithium", "litio", "li", "リチウム", "리튬", "锂"),
    "gallium": ("gallium", "galio", "ga", "ガリウム", "갈륨", "镓"),
    "germanium": ("germanium", "germanio", "ge", "ゲルマニウム", "게르마늄", "锗"),
    "indium": ("indio", "インジウム", "인듐", "铟"),
    "titanium": ("titan", "titane", "titanio", "ti", "チタン", "티타늄", "钛"),
    "tungsten": ("wolfram", "tungstene", "wolframio", "タングステン", "텅스텐", "钨"),
    "molybdenum": (
        "molybdan", "molybdaen", "molybdene", "molibdeno", "モリブデン", "몰리브덴", "钼",
    ),
    "vanadium": ("vanadio", "バナジウム", "바나듐", "钒"),
    "niobium": ("niob", "niobio", "ニオブ", "니오븀", "铌"),
    "chromium": ("chrom", "chrome", "cromo", "クロム", "크롬", "铬"),
    "antimony": ("antimon", "antimoine", "antimonio", "アンチモン", "안티몬", "锑"),
    "tin": ("zinn", "etain", "estano", "スズ", "주석", "锡"),
    "tantalum": ("tantal", "tantale", "tantalo", "タンタル", "탄탈럼", "钽"),
    "silicon": ("silizium", "silicium", "silicio", "シリコン", "실리콘", "硅"),
    # 동 is the Sino-Korean word (銅) of compounds: 전기동, 동박, 동선.
    "copper": ("kupfer", "cuivre", "cobre", "cu", "銅", "구리", "铜", "동"),
    "aluminium": ("aluminium", "aluminio", "アルミニウム", "アルミ", "알루미늄", "铝"),
    "magnesium": ("magnesio", "マグネシウム", "마그네슘", "镁"),
    "bismuth": ("bismut", "wismut", "bismuto", "ビスマス", "비스무트", "铋"),
    "platinum": ("platin", "platine", "platino", "pt", "白金", "プラチナ", "백금", "铂"),
    "palladium": ("palladio", "pd", "パラジウム", "팔라듐", "钯"),
    "rhodium": ("rhodio", "rh", "ロジウム", "로듐", "铑"),
    "iridium": ("iridio", "ir", "イリジウム", "이리듐", "铱"),
    "ruthenium": ("rutenio", "ru", "ルテニウム", "루테늄", "钌"),
    "graphite": ("graphit", "grafito", "黒鉛", "흑연", "石墨"),
    "spodumene": ("spodumen", "espodumena", "スポジュメン", "스포듀민", "锂辉石"),
    # Words that tell one stage of a material from another ("천연흑연 구형화" is natural
    # graphite made spherical; "NCM811 전구체" the precursor of an NCM cathode).
    "spherical": (
        "spharisch", "kugelformig", "spherique", "esferico", "spheroidised", "spheroidized",
        "spheronised", "spheronized", "球形", "球状", "球形化", "구형", "구형화",
    ),
    "natural": ("naturlich", "natur", "naturel", "天然", "천연"),
    "synthetic": ("synthetisch", "synthetique", "sintetico", "人造", "인조"),
    "mixed": ("misch", "gemischt", "mixte", "mixto", "混合", "혼합"),
    "precursor": ("vorprodukt", "vorlaufer", "precurseur", "前駆体", "전구체", "前驱体"),
    # German writes electrolytic metal as a compound: Elektrolytkupfer, Elektrolytnickel.
    "electrolytic": (
        "elektrolytisch", "elektrolyt", "electrolytique", "electrolitico", "電解", "전해", "电解",
    ),
    # Uses, explained only for the materials that serve them (USE_WORDS).
    "electrolyte": (
        "electrolito", "電解質", "电解质", "전해질", "電解液", "电解液", "전해액",
    ),
    "anode": ("anoden", "anodo", "음극", "음극재", "負極", "負極材", "负极", "负极材料"),
    # A battery's positive electrode: 양극재 (cathode active material) is a product of its own,
    # not in the catalog, and stays unknown.
    "positive": ("양극", "正極", "正极"),
    "collector": ("집전체", "集電体", "集流体"),
    "foil": ("folie", "folien", "lamina", "箔", "박", "호일", "포일"),
    "salt": ("salz", "塩", "염", "盐"),
}  # fmt: skip

#: Words that say nothing about which material it is: grades, packaging, units, forms of
#: delivery (foil, sheet, strip), hydrates and coatings. They neither count for nor against a
#: proposal. Folded as the words of a text are, so "µm" (micro sign) is the "μm" (mu) of a
#: folded text.
NOISE_WORDS = frozenset(
    # A block of words reads (and is edited) more easily than a list literal.
    fold(word)
    for word in """
    kg g t mt lb lbs to tonne tonnes ton tons mm cm um µm m mesh drum drums fass sack bag
    bags bigbag big box kiste palette pallet pal lot charge batch grade grad gr qualitat
    quality qualite calidad purity reinheit purete pureza typ type art nr no item pos de en
    fur for und and et y mit with the der die das le la el los las of von du del para pour
    high low hochrein rein pure ultra ultrahigh battery batterie bateria bat bg eg ev hp
    hpa tech technical technisch technique tecnico sorte std standard spec premium a b c
    heptahydrat heptahydrate hexahydrat hexahydrate monohydrat monohydrate hydrat hydrate
    七水 六水 一水 七水和物 六水和物 一水和物 水和物 칠수화물 육수화물 일수화물
    基板 기판 衬底 ウェハ ウエハ 웨이퍼 晶圆 晶片 粉 めっき メッキ 도금 镀层 电镀
    배터리급 전지급 電池グレード 電池用 グレード 电池级 工业级 太阳能级
    flasche flaschen flaschenbundel bundel
    cylinder zylinder dewar vernickelt nickel-plated beschichtet coated revetu recubierto
    nicuni lose bulk granulat granules granulate flakes flake chips chip stueck stuck
    pieces powder sponge schwamm ingot cathode wafer wafers substrat substrate zoll inch in
    awg min max hc lc mc lump lumps block barren cathodes sheet sheets coil coils blech
    band strip roh raw neu new ware goods material werkstoff rohstoff foil salt
    고순도 高純度 高纯 高纯度
    electrolytic
    """.split()  # noqa: SIM905
)

_CJK_CHARACTERS = r"\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
#: Words naming what a material is used for, with the commodities whose materials serve that
#: use: such a word explains a text proposed on one of them ("인조흑연 음극재": graphite is the
#: anode material; "알루미늄박 양극집전체": aluminium foil the positive current collector) and
#: counts against any other ("실리콘 음극재", a silicon anode material, is no silicon metal;
#: "anode copper" is not yet the refined cathode).
USE_WORDS: dict[str, frozenset[str]] = {
    "anode": frozenset({"graphite"}),
    "positive": frozenset({"aluminium", "lithium", "nickel", "cobalt", "manganese"}),
    "collector": frozenset({"aluminium", "copper"}),
    "electrolyte": frozenset({"lithium"}),
}

CJK = re.compile(f"[{_CJK_CHARACTERS}]")
#: Where Latin letters or digits meet CJK script inside a token.
SCRIPT_BOUNDARY = re.compile(
    f"(?<=[{_CJK_CHARACTERS}])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[{_CJK_CHARACTERS}])"
)


HYDRATE_WORD = re.compile(r"^\d*(수화물|水和物|水合物|hydrat|hydrate)$")
# Folded, a micro sign (µ) is the Greek mu (μ): "8㎛" is "8μm".
NUMBERISH = re.compile(r"^[\d.,x×/%+\-±ø]+[a-zµμ]*$|^[a-z]?\d[\d.,x×/\-]*[a-z]{0,3}$")
#: A grade or type code: letters and digits in one token ("AG-15", "SG17", "35PN250",
#: "NCM811", "M330-50A"), each run of letters short. Tokens that are chemical formulas are
#: told apart by the matcher.
GRADE_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])(?!.*[A-Za-z]{5})[A-Za-z0-9][A-Za-z0-9.\-]*$")
