"""The material catalog: commodity tree, purchasable materials, policy tags and countries.

Users name what they buy in free text ("Dy2O3", "NdPr oxide", "NdFeB magnet"); the catalog
resolves it to a :class:`Material`: the commodities it contains (nodes of a tree such as
dysprosium ∈ medium and heavy rare earths ∈ rare earths), its processing stage and its HS codes.
Policy events name materials with tags; a tag covers a set of commodities (with all their
descendants) at some or all stages, so a measure published for "rare earths" applies to
dysprosium oxide, and one for "monazite" applies to concentrate only.

Resolution is exact after normalisation: unknown text is rejected with the closest known names,
never matched to a best guess. Countries resolve to ISO 3166-1 alpha-3 codes through pycountry
plus a small reviewed alias table; ambiguous names ("Korea", "Congo") are errors naming the
candidates.

The tables live in ``riskengine/catalog_data`` and are read on first use.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import polars as pl
import pycountry
from rapidfuzz import fuzz, process

from riskengine import disk_cache
from riskengine.catalog_contracts import (
    ALL_ROOT_COMMODITIES,
    LIST_SEPARATOR,
    STAGES,
    commodities_schema,
    country_aliases_schema,
    materials_schema,
    policy_tags_schema,
)
from riskengine.errors import CountryError, UnknownMaterialError
from riskengine.io.columns import require_columns
from riskengine.pandera_polars import SchemaErrors, pa
from riskengine.schemas import contract_failures, describe_failure

__all__ = [
    "ALL_ROOT_COMMODITIES",
    "PRODUCTION_STAGE_KINDS",
    "PSEUDO_COUNTRY_NAMES",
    "STAGES",
    "Catalog",
    "Material",
    "load_catalog",
    "normalise_country",
    "normalise_material_text",
]

PRODUCTION_STAGE_KINDS: tuple[str, ...] = ("mine", "refining")
PSEUDO_COUNTRY_NAMES: dict[str, str] = {"XKX": "Kosovo"}

_DATA_DIRECTORY = "catalog_data"
_MAX_REPORTED_PROBLEMS = 12
# Every run of characters that is not a letter or digit (including "_") separates words, so
# "Nd-Pr oxide", "nd_pr oxide" and "Nd/Pr  oxide" normalise alike.
_SEPARATOR_PATTERN = re.compile(r"[\W_]+")
_MAX_SUGGESTIONS = 3
# Below this WRatio score a "closest known" name is noise rather than help.
_SUGGESTION_SCORE_CUTOFF = 50.0
# A text longer than this is no misspelt name (a pasted paragraph, a 1 MB cell): no suggestions.
_SUGGESTION_MAX_LENGTH = 200
# Country names are short: a plain edit ratio with a high cutoff offers "Germany" for
# "Germny" but nothing for "Asia" (WRatio's partial matching offered "Malaysia").
_COUNTRY_SUGGESTION_SCORE_CUTOFF = 80.0
# Languages whose country names resolve: those of the ERP exports riskengine reads (German,
# French, Spanish, Japanese, Korean, Chinese) and of the main supplier and buyer regions.
COUNTRY_NAME_LANGUAGES: tuple[str, ...] = (
    "de", "fr", "es", "it", "pt", "nl", "pl", "cs", "sv", "tr", "ru",
    "ja", "ko", "zh_CN", "zh_TW", "vi", "id", "th",
)  # fmt: skip


@dataclass(frozen=True)
class Material:
    """Something a user buys: commodities contained (primary first), stage and HS codes."""

    material_id: str
    display_name: str
    commodities: tuple[str, ...]
    stage: str
    hs_codes: tuple[str, ...]

    @property
    def primary_commodity(self) -> str:
        """The commodity whose supply concentration describes this material."""
        return self.commodities[0]


class Catalog:
    """Commodity tree, materials and policy tags, validated and indexed for lookups.

    Parameters
    ----------
    commodities
        Columns ``commodity_id, parent_id, display_name, production_mine,
        production_refining`` (all text, blanks as null).
    materials
        Columns ``material_id, display_name, commodities, stage, hs_codes, aliases``; list cells
        are ``;``-separated.
    policy_tags
        Columns ``tag, commodities, stages``; ``*`` as commodities means every root commodity,
        blank stages mean all stages, blank commodities mean the tag covers nothing.
    _contracts_checked
        For :func:`load_catalog` alone: these exact tables are known to meet their contracts,
        which are then not checked again; the checks that build the indexes always run.

    Raises
    ------
    MissingColumnsError
        If a table lacks columns (naming the table and the columns).
    ValueError
        If a table breaks its contract (:mod:`riskengine.catalog_contracts`) or the commodity
        tree has a cycle or two materials claim one name; the message names the table, line,
        column and problem.
    """

    def __init__(
        self,
        commodities: pl.DataFrame,
        materials: pl.DataFrame,
        policy_tags: pl.DataFrame,
        *,
        _contracts_checked: bool = False,
    ) -> None:
        check = not _contracts_checked
        commodities = _validated(commodities, commodities_schema(), check=check)
        commodity_ids = commodities["commodity_id"].to_list()
        materials = _validated(materials, materials_schema(commodity_ids), check=check)
        policy_tags = _validated(policy_tags, policy_tags_schema(commodity_ids), check=check)
        self._parent: dict[str, str | None] = {}
        self._datasets: dict[tuple[str, str], str | None] = {}
        self._load_commodities(commodities)
        self._children: dict[str, list[str]] = {commodity: [] for commodity in self._parent}
        for commodity, parent in self._parent.items():
            if parent is not None:
                self._children[parent].append(commodity)
        self._check_tree_is_acyclic()

        self._materials: dict[str, Material] = {}
        self._material_keys: dict[str, str] = {}
        self._aliases: dict[str, tuple[str, ...]] = {}
        self._load_materials(materials)

        self._tags: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._load_policy_tags(policy_tags)

    # ----------------------------------------------------------------------------- materials

    @property
    def material_ids(self) -> tuple[str, ...]:
        """Every material id, in catalog order."""
        return tuple(self._materials)

    def material(self, material_id: str) -> Material:
        """The material with this exact id.

        Raises
        ------
        UnknownMaterialError
            If no material has this id (with the closest known names).
        """
        try:
            return self._materials[material_id]
        except KeyError:
            raise UnknownMaterialError(material_id, self._suggestions(material_id)) from None

    def resolve_material(self, text: str) -> Material:
        """Resolve free text (id, display name, alias or formula) to a material.

        Matching ignores case, accents, surrounding and repeated whitespace and punctuation
        ("Nd-Pr oxide" = "nd pr oxide"), but is otherwise exact.

        Raises
        ------
        UnknownMaterialError
            If the text matches nothing; carries up to three closest display names.
        """
        material_id = self._material_keys.get(_normalise_key(text))
        if material_id is None:
            raise UnknownMaterialError(text, self._suggestions(text))
        return self._materials[material_id]

    def material_names(self) -> dict[str, str]:
        """Every name a material answers to (id, display name, aliases), normalised as
        :func:`normalise_material_text` does, with the material id it resolves to."""
        return dict(self._material_keys)

    def material_aliases(self, material_id: str) -> tuple[str, ...]:
        """The aliases of a material as the catalog writes them (formulas keep their case)."""
        self.material(material_id)
        return self._aliases[material_id]

    # ---------------------------------------------------------------------------- commodities

    def commodity_lineage(self, commodity_id: str) -> tuple[str, ...]:
        """The commodity, its parent, and so on up to its root.

        Raises
        ------
        KeyError
            If the commodity is unknown.
        """
        self._require_commodity(commodity_id)
        lineage: list[str] = []
        current: str | None = commodity_id
        while current is not None:
            lineage.append(current)
            current = self._parent[current]
        return tuple(lineage)

    def production_dataset(self, commodity_id: str, stage_kind: str) -> str | None:
        """Id of the production dataset describing this commodity at ``mine`` or ``refining``.

        A commodity without its own dataset inherits its nearest ancestor's (dysprosium
        refining uses the medium and heavy rare-earth separation data); None if no ancestor has
        one either.

        Raises
        ------
        KeyError
            If the commodity is unknown.
        ValueError
            If ``stage_kind`` is neither ``mine`` nor ``refining``.
        """
        if stage_kind not in PRODUCTION_STAGE_KINDS:
            raise ValueError(
                f"stage_kind must be one of {PRODUCTION_STAGE_KINDS}, not {stage_kind!r}"
            )
        for commodity in self.commodity_lineage(commodity_id):
            dataset = self._datasets[(commodity, stage_kind)]
            if dataset is not None:
                return dataset
        return None

    # ------------------------------------------------------------------------- policy tags

    def known_tags(self) -> tuple[str, ...]:
        """Every tag a policy event may use: all commodity ids and the policy-tag table."""
        return (*self._parent, *self._tags)

    def tag_coverage(self, tag: str) -> tuple[frozenset[str], frozenset[str]]:
        """What a policy tag covers: (commodity ids with all descendants, stages).

        An empty stage set means all stages; an empty commodity set means the tag covers
        nothing in the catalog (coal, fertilisers, noble gases).

        Raises
        ------
        KeyError
            If the tag is neither a commodity id nor in the policy-tag table.
        """
        if tag in self._tags:
            return self._tags[tag]
        if tag in self._parent:
            return self._descendants([tag]), frozenset()
        raise KeyError(tag)

    # ----------------------------------------------------------------------------- private

    def _load_commodities(self, commodities: pl.DataFrame) -> None:
        for row in commodities.iter_rows(named=True):
            commodity = row["commodity_id"]
            self._parent[commodity] = row["parent_id"]
            for stage_kind in PRODUCTION_STAGE_KINDS:
                self._datasets[(commodity, stage_kind)] = row[f"production_{stage_kind}"]

    def _check_tree_is_acyclic(self) -> None:
        for commodity in self._parent:
            seen: set[str] = set()
            current: str | None = commodity
            while current is not None:
                if current in seen:
                    raise ValueError(f"commodities.csv: parent_id cycle through {commodity!r}")
                seen.add(current)
                current = self._parent[current]

    def _load_materials(self, materials: pl.DataFrame) -> None:
        for line, row in _numbered_rows(materials):
            where = f"materials.csv line {line}"
            material_id = row["material_id"]
            material = Material(
                material_id=material_id,
                display_name=row["display_name"],
                commodities=_split_list(row["commodities"]),
                stage=row["stage"],
                hs_codes=_split_list(row["hs_codes"]),
            )
            self._materials[material_id] = material
            self._aliases[material_id] = _split_list(row["aliases"])
            names = (material_id, material.display_name, *self._aliases[material_id])
            self._index_material_names(material_id, names, where)

    def _index_material_names(self, material_id: str, names: Iterable[str], where: str) -> None:
        for name in names:
            key = _normalise_key(name)
            if not key:
                raise ValueError(f"{where}: name {name!r} is empty once normalised")
            existing = self._material_keys.setdefault(key, material_id)
            if existing != material_id:
                raise ValueError(
                    f"{where}: name {name!r} would resolve to both {existing!r} and {material_id!r}"
                )

    def _load_policy_tags(self, policy_tags: pl.DataFrame) -> None:
        roots = [commodity for commodity, parent in self._parent.items() if parent is None]
        for row in policy_tags.iter_rows(named=True):
            named = _split_list(row["commodities"])
            if ALL_ROOT_COMMODITIES in named:
                named = tuple(roots)
            stages = _split_list(row["stages"])
            self._tags[row["tag"]] = (self._descendants(named), frozenset(stages))

    def _descendants(self, commodities: Iterable[str]) -> frozenset[str]:
        found: set[str] = set()
        pending = list(commodities)
        while pending:
            commodity = pending.pop()
            if commodity not in found:
                found.add(commodity)
                pending.extend(self._children[commodity])
        return frozenset(found)

    def _require_commodity(self, commodity_id: str) -> None:
        if commodity_id not in self._parent:
            raise KeyError(commodity_id)

    def _suggestions(self, text: str) -> list[str]:
        if len(text) > _SUGGESTION_MAX_LENGTH:
            return []  # no misspelling of a catalog name; fuzzy scoring it took seconds
        matches = process.extract(
            _normalise_key(text),
            list(self._material_keys),
            scorer=fuzz.WRatio,
            limit=None,
            score_cutoff=_SUGGESTION_SCORE_CUTOFF,
        )
        suggestions: list[str] = []
        for key, _score, _index in matches:
            display_name = self._materials[self._material_keys[key]].display_name
            if display_name not in suggestions:
                suggestions.append(display_name)
            if len(suggestions) == _MAX_SUGGESTIONS:
                break
        return suggestions


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with riskengine (read once, then cached).

    Checking its contracts is the same answer for the same files and code every time: that
    these files passed under this code is kept on disk (:func:`riskengine.disk_cache.mark`),
    and the next process checks only what builds the indexes. An edited file, or other code,
    is checked anew. The country aliases are read the same way.
    """
    return _shipped_catalog(trust_mark=True)


def check_shipped_catalog() -> None:
    """Check the shipped catalog and country aliases against their contracts, whatever the
    disk cache holds (``riskengine reference check``).

    Raises
    ------
    ValueError
        Naming the table, line and column of each broken rule.
    """
    _shipped_catalog(trust_mark=False)
    index = _country_index()
    _country_aliases(index.alpha_2, index.alpha_3, trust_mark=False)


def _shipped_catalog(*, trust_mark: bool) -> Catalog:
    files = {name: _read_package_bytes(name) for name in _TABLE_FILES}
    return disk_cache.checked_once(
        _CACHE_KIND,
        files,
        lambda checked: Catalog(
            commodities=_text_table(files["commodities.csv"]),
            materials=_text_table(files["materials.csv"]),
            policy_tags=_text_table(files["policy_tags.csv"]),
            _contracts_checked=checked,
        ),
        trust_mark=trust_mark,
    )


_TABLE_FILES = ("commodities.csv", "materials.csv", "policy_tags.csv")
_CACHE_KIND = "catalog"


# ------------------------------------------------------------------------------- countries


@dataclass(frozen=True)
class _CountryIndex:
    aliases: dict[str, str]
    alpha_2: dict[str, str]
    alpha_3: dict[str, str]
    numeric: dict[str, str]
    exact_names: dict[str, frozenset[str]]
    short_names: dict[str, frozenset[str]]
    all_names: tuple[tuple[str, str], ...]
    display_names: dict[str, str]


@lru_cache(maxsize=4096)
def normalise_country(text: str) -> str:
    """ISO 3166-1 alpha-3 code for a country written in any common form.

    Accepts alpha-2, alpha-3 and numeric codes, ISO short, official and common names and the
    reviewed alias table (Vietnam, UK, DRC, ...), ignoring case, accents, punctuation and
    surrounding whitespace. "NA" is Namibia. Kosovo is ``XKX``.

    Raises
    ------
    CountryError
        If the text is unknown (no candidates) or names several countries, e.g. "Korea" or
        "Congo" (candidates listed as ``"KOR (Korea, Republic of)"``).
    """
    key = _normalise_key(text)
    if not key:
        raise CountryError(text)
    index = _country_index()
    if key in index.aliases:
        return index.aliases[key]
    code = text.strip().upper()
    if re.fullmatch(r"[A-Z]{2}", code) and code in index.alpha_2:
        return index.alpha_2[code]
    if re.fullmatch(r"[A-Z]{3}", code) and code in index.alpha_3:
        return index.alpha_3[code]
    if re.fullmatch(r"\d{1,3}", code) and code.zfill(3) in index.numeric:
        return index.numeric[code.zfill(3)]
    # "Congo" is the ISO name of COG but also the part before the comma of
    # "Congo, The Democratic Republic of the", so it is ambiguous; "Niger" is not.
    candidates = index.exact_names.get(key, frozenset()) | index.short_names.get(key, frozenset())
    if not candidates:
        # Names in the languages of the files we read ("Deutschland", "中国", "Chine"), looked
        # up only when the English ones miss, so scoring English files never loads them.
        translated = _translated_country_names()
        candidates = translated.exact_names.get(key, frozenset()) or translated.short_names.get(
            key, frozenset()
        )
    if len(candidates) == 1:
        return next(iter(candidates))
    if not candidates:
        # A leading part of a name ("Bosnia", "Saint") is offered, never chosen.
        candidates = frozenset(iso3 for name, iso3 in index.all_names if name.startswith(f"{key} "))
    if candidates:
        raise CountryError(text, [_display(index, iso3) for iso3 in sorted(candidates)])
    raise CountryError(text, suggestions=_country_suggestions(key))


def _display(index: _CountryIndex, iso3: str) -> str:
    return f"{iso3} ({index.display_names[iso3]})"


def _country_suggestions(key: str) -> list[str]:
    """The closest country names to an unknown one ("Germny", "Russian Fedration"), offered in
    the message and never chosen."""
    if len(key) > _SUGGESTION_MAX_LENGTH:
        return []
    index = _country_index()
    names = [*index.all_names, *_translated_country_names().all_names]
    matches = process.extract(
        key,
        [name for name, _ in names],
        scorer=fuzz.ratio,
        limit=None,
        score_cutoff=_COUNTRY_SUGGESTION_SCORE_CUTOFF,
    )
    suggestions: list[str] = []
    for _name, _score, position in matches:
        suggestion = _display(index, names[position][1])
        if suggestion not in suggestions:
            suggestions.append(suggestion)
        if len(suggestions) == _MAX_SUGGESTIONS:
            break
    return suggestions


@dataclass(frozen=True)
class _TranslatedNames:
    exact_names: dict[str, frozenset[str]]
    short_names: dict[str, frozenset[str]]
    all_names: tuple[tuple[str, str], ...]


@cache
def _translated_country_names() -> _TranslatedNames:
    """ISO country names in the languages of :data:`COUNTRY_NAME_LANGUAGES`, from the
    translations pycountry ships (the Debian iso-codes project)."""
    exact_names: dict[str, set[str]] = {}
    short_names: dict[str, set[str]] = {}
    all_names: list[tuple[str, str]] = []
    for language in COUNTRY_NAME_LANGUAGES:
        translation = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
        )
        for country in pycountry.countries:
            for name in _country_names(country):
                translated = translation.gettext(name)
                if translated == name:
                    continue
                key = _normalise_key(translated)
                exact_names.setdefault(key, set()).add(country.alpha_3)
                all_names.append((key, country.alpha_3))
                # "Russie, Fédération de", "大韓民国 (韓国)": the part before the qualifier.
                short_name = re.split(r",| \(|（", translated, maxsplit=1)[0]
                if short_name != translated:
                    short_names.setdefault(_normalise_key(short_name), set()).add(country.alpha_3)
    return _TranslatedNames(
        exact_names={key: frozenset(value) for key, value in exact_names.items()},
        short_names={key: frozenset(value) for key, value in short_names.items()},
        all_names=tuple(all_names),
    )


@cache
def _country_index() -> _CountryIndex:
    alpha_2: dict[str, str] = {}
    alpha_3: dict[str, str] = dict(zip(PSEUDO_COUNTRY_NAMES, PSEUDO_COUNTRY_NAMES, strict=True))
    numeric: dict[str, str] = {}
    exact_names: dict[str, set[str]] = {}
    short_names: dict[str, set[str]] = {}
    all_names: list[tuple[str, str]] = []
    display_names: dict[str, str] = dict(PSEUDO_COUNTRY_NAMES)
    for country in pycountry.countries:
        iso3 = country.alpha_3
        alpha_2[country.alpha_2] = iso3
        alpha_3[iso3] = iso3
        numeric[country.numeric] = iso3
        display_names[iso3] = country.name
        # Official names ("Republic of ...", "United Mexican States") would make every leading
        # word look like a partial country name, so only short and common names are offered.
        for name in (country.name, getattr(country, "common_name", None)):
            if name:
                all_names.append((_normalise_key(name), iso3))
        for name in _country_names(country):
            exact_names.setdefault(_normalise_key(name), set()).add(iso3)
            # ISO writes qualified names as "Korea, Republic of" and "Saint Martin (French part)".
            short_name = re.split(r",| \(", name, maxsplit=1)[0]
            if short_name != name:
                short_names.setdefault(_normalise_key(short_name), set()).add(iso3)
    for name, iso3 in PSEUDO_COUNTRY_NAMES.items():
        exact_names.setdefault(_normalise_key(name), set()).add(iso3)
    aliases = _country_aliases(alpha_2, alpha_3)
    return _CountryIndex(
        aliases=aliases,
        alpha_2=alpha_2,
        alpha_3=alpha_3,
        numeric=numeric,
        exact_names={key: frozenset(value) for key, value in exact_names.items()},
        short_names={key: frozenset(value) for key, value in short_names.items()},
        all_names=tuple(all_names),
        display_names=display_names,
    )


def _country_names(country: object) -> list[str]:
    names = [getattr(country, attribute, None) for attribute in ("name", "official_name")]
    names.append(getattr(country, "common_name", None))
    return [name for name in names if name]


def _country_aliases(
    alpha_2: dict[str, str], alpha_3: dict[str, str], *, trust_mark: bool = True
) -> dict[str, str]:
    data = _read_package_bytes(_ALIASES_FILE)
    schema = country_aliases_schema(alpha_3)
    return disk_cache.checked_once(
        _CACHE_KIND,
        {_ALIASES_FILE: data},
        lambda checked: _aliases_of(
            _validated(_text_table(data), schema, check=not checked), alpha_2, alpha_3
        ),
        trust_mark=trust_mark,
    )


def _aliases_of(
    table: pl.DataFrame, alpha_2: dict[str, str], alpha_3: dict[str, str]
) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for line, row in _numbered_rows(table):
        where = f"country_aliases.csv line {line}"
        alias, iso3 = row["alias"], row["iso3"]
        # An alias spelled like a real code must not contradict that code.
        as_code = alias.strip().upper()
        for codes in (alpha_2, alpha_3):
            if as_code in codes and codes[as_code] != iso3:
                raise ValueError(f"{where}: {alias!r} is the code of {codes[as_code]}")
        key = _normalise_key(alias)
        if aliases.setdefault(key, iso3) != iso3:
            raise ValueError(f"{where}: alias {alias!r} maps to two countries")
    return aliases


_ALIASES_FILE = "country_aliases.csv"


# --------------------------------------------------------------------------------- helpers


def normalise_material_text(text: str) -> str:
    """A material text as the catalog compares names: casefolded, without accents, each run
    of punctuation and whitespace one space."""
    return _normalise_key(text)


def _normalise_key(text: str) -> str:
    """Casefold, drop accents, and reduce every run of punctuation and whitespace to one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATOR_PATTERN.sub(" ", without_accents.casefold()).strip()


def catalog_files() -> dict[str, bytes]:
    """The catalog's shipped files by name: what a logged model carries and checks
    (:mod:`riskengine.serving.pyfunc`)."""
    folder = resources.files("riskengine").joinpath(_DATA_DIRECTORY)
    return {item.name: item.read_bytes() for item in folder.iterdir() if item.name.endswith(".csv")}


def _read_package_bytes(file_name: str) -> bytes:
    return resources.files("riskengine").joinpath(_DATA_DIRECTORY, file_name).read_bytes()


def _text_table(data: bytes) -> pl.DataFrame:
    # All text, so that codes such as "2846.90" and "004" keep their exact spelling.
    return pl.read_csv(data, infer_schema=False)


def _validated(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, *, check: bool = True
) -> pl.DataFrame:
    """The table's contract columns, cells stripped and blanks null, checked against ``schema``
    unless ``check`` is false.

    Raises
    ------
    MissingColumnsError
        Naming the table and the columns it lacks.
    ValueError
        Naming the table, line and column of each broken rule (up to a dozen).
    """
    table = str(schema.name)
    require_columns(frame.columns, schema.columns, source=table)
    frame = frame.select(
        pl.col(column).cast(pl.String).str.strip_chars().replace("", None)
        for column in schema.columns
    )
    if not check:
        return frame
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as error:
        problems = [
            # Line 1 is the header, so row 0 is line 2.
            f"{table}{'' if failure.row is None else f' line {failure.row + 2}'}: "
            + describe_failure(failure)
            for failure in contract_failures(error)
        ]
        shown = problems[:_MAX_REPORTED_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise ValueError("\n".join(shown) + more) from error
    return frame


def _numbered_rows(frame: pl.DataFrame) -> Iterable[tuple[int, dict[str, Any]]]:
    # Line 1 is the header, so the first data row is line 2. Rows of a validated table: the
    # cells its contract requires are text, the others text or None.
    return enumerate(frame.iter_rows(named=True), start=2)


def _split_list(cell: str | None) -> tuple[str, ...]:
    if cell is None:
        return ()
    return tuple(item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip())
