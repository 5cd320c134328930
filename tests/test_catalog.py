"""Behaviour of the material catalog, policy-tag coverage and country normalisation."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.catalog import STAGES, Catalog, load_catalog, normalise_country
from riskengine.errors import CountryError, MissingColumnsError, UnknownMaterialError
from riskengine.features.common import event_material_coverage

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[1] / "riskengine"
MATERIALS_CSV = PACKAGE_DIRECTORY / "catalog_data" / "materials.csv"
# The package copy of the policy events once it exists; the shared reference data until then.
PACKAGED_POLICY_EVENTS = PACKAGE_DIRECTORY / "reference" / "data" / "policy_events.csv"
SHARED_POLICY_EVENTS = Path("/work/shared/reference-data/policy_events.csv")
POLICY_EVENTS_CSV = (
    PACKAGED_POLICY_EVENTS if PACKAGED_POLICY_EVENTS.exists() else SHARED_POLICY_EVENTS
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def policy_event_tags() -> list[str]:
    with POLICY_EVENTS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        tags = {tag.strip() for row in rows for tag in (row["materials"] or "").split(";")}
    return sorted(tag for tag in tags if tag)


@pytest.mark.parametrize(
    ("text", "material_id"),
    [
        ("dysprosium oxide", "dysprosium_oxide"),
        ("Dy2O3", "dysprosium_oxide"),
        ("dy2o3", "dysprosium_oxide"),
        ("Dysprosia", "dysprosium_oxide"),
        ("dysprosium metal", "dysprosium_metal"),
        ("Dy metal", "dysprosium_metal"),
        ("terbium oxide", "terbium_oxide"),
        ("Tb4O7", "terbium_oxide"),
        ("terbia", "terbium_oxide"),
        ("terbium metal", "terbium_metal"),
        ("NdPr oxide", "ndpr_oxide"),
        ("didymium oxide", "ndpr_oxide"),
        ("PrNd oxide", "ndpr_oxide"),
        ("Nd-Pr oxide", "ndpr_oxide"),
        ("neodymium oxide", "neodymium_oxide"),
        ("Nd2O3", "neodymium_oxide"),
        ("neodymium metal", "neodymium_metal"),
        ("praseodymium oxide", "praseodymium_oxide"),
        ("Pr6O11", "praseodymium_oxide"),
        ("samarium", "samarium_oxide"),
        ("Sm2O3", "samarium_oxide"),
        ("samarium metal", "samarium_metal"),
        ("gadolinium", "gadolinium_oxide"),
        ("Gd2O3", "gadolinium_oxide"),
        ("yttrium oxide", "yttrium_oxide"),
        ("Y2O3", "yttrium_oxide"),
        ("lutetium", "lutetium_oxide"),
        ("lutetium oxide", "lutetium_oxide"),
        ("scandium", "scandium_oxide"),
        ("Sc2O3", "scandium_oxide"),
        ("cerium", "cerium_oxide"),
        ("CeO2", "cerium_oxide"),
        ("lanthanum", "lanthanum_oxide"),
        ("La2O3", "lanthanum_oxide"),
        ("rare earth concentrate", "rare_earth_concentrate"),
        ("Rare-Earth Concentrate", "rare_earth_concentrate"),
        ("REO concentrate", "rare_earth_concentrate"),
        ("bastnaesite concentrate", "rare_earth_concentrate"),
        ("bastnäsite concentrate", "rare_earth_concentrate"),
        ("monazite concentrate", "monazite_concentrate"),
        ("mixed rare earth carbonate", "mixed_rare_earth_carbonate"),
        ("MREC", "mixed_rare_earth_carbonate"),
        ("NdFeB magnet", "ndfeb_magnet"),
        ("neodymium magnet", "ndfeb_magnet"),
        ("Nd-Fe-B magnet", "ndfeb_magnet"),
        ("sintered NdFeB", "ndfeb_magnet"),
        ("SmCo magnet", "smco_magnet"),
        ("samarium cobalt magnet", "smco_magnet"),
        ("gallium", "gallium_metal"),
        ("gallium metal", "gallium_metal"),
        ("germanium", "germanium_metal"),
        ("germanium metal", "germanium_metal"),
        ("germanium dioxide", "germanium_dioxide"),
        ("GeO2", "germanium_dioxide"),
        ("natural graphite", "natural_graphite"),
        ("flake graphite", "natural_graphite"),
        ("synthetic graphite", "synthetic_graphite"),
        ("artificial graphite", "synthetic_graphite"),
        ("spherical graphite", "spherical_graphite"),
        ("spherical natural graphite", "spherical_graphite"),
        ("mixed hydroxide", "mixed_hydroxide_precipitate"),
        ("antimony", "antimony_metal"),
        ("antimony metal", "antimony_metal"),
        ("antimony trioxide", "antimony_trioxide"),
        ("Sb2O3", "antimony_trioxide"),
        ("tungsten", "tungsten_metal"),
        ("APT", "ammonium_paratungstate"),
        ("ammonium paratungstate", "ammonium_paratungstate"),
        ("tungsten powder", "tungsten_metal"),
        ("cobalt", "cobalt_metal"),
        ("cobalt metal", "cobalt_metal"),
        ("cobalt hydroxide", "cobalt_hydroxide"),
        ("lithium carbonate", "lithium_carbonate"),
        ("Li2CO3", "lithium_carbonate"),
        ("lithium hydroxide", "lithium_hydroxide"),
        ("LiOH", "lithium_hydroxide"),
        ("spodumene concentrate", "spodumene_concentrate"),
        ("nickel ore", "nickel_ore"),
        ("laterite", "nickel_ore"),
        ("nickel", "nickel_metal"),
        ("nickel metal", "nickel_metal"),
        ("class 1 nickel", "nickel_metal"),
        ("bauxite", "bauxite"),
        ("aluminium", "aluminium_metal"),
        ("Aluminum", "aluminium_metal"),
        ("magnesium", "magnesium_metal"),
        ("magnesium metal", "magnesium_metal"),
        ("indium", "indium_metal"),
        ("bismuth", "bismuth_metal"),
        ("vanadium", "vanadium_metal"),
        ("vanadium pentoxide", "vanadium_pentoxide"),
        ("V2O5", "vanadium_pentoxide"),
        ("tin", "tin_metal"),
        ("molybdenum", "molybdenum_metal"),
        ("molybdenum oxide", "molybdenum_oxide"),
        ("tantalum", "tantalum_metal"),
        ("niobium", "niobium_metal"),
        ("ferroniobium", "ferroniobium"),
        ("manganese ore", "manganese_ore"),
        ("chromium ore", "chromium_ore"),
        ("chromite", "chromium_ore"),
        ("platinum", "platinum_metal"),
        ("palladium", "palladium_metal"),
        ("silicon metal", "silicon_metal"),
        ("titanium sponge", "titanium_sponge"),
        ("tellurium", "tellurium_metal"),
        ("copper concentrate", "copper_concentrate"),
        ("  DYSPROSIUM   OXIDE ", "dysprosium_oxide"),
        ("dysprosium_oxide", "dysprosium_oxide"),
    ],
)
def test_material_text_resolves(catalog: Catalog, text: str, material_id: str) -> None:
    assert catalog.resolve_material(text).material_id == material_id


def test_unknown_material_is_rejected_with_suggestions(catalog: Catalog) -> None:
    with pytest.raises(UnknownMaterialError) as raised:
        catalog.resolve_material("unobtainium")
    assert 1 <= len(raised.value.suggestions) <= 3


def test_misspelt_material_suggests_the_intended_one(catalog: Catalog) -> None:
    with pytest.raises(UnknownMaterialError) as raised:
        catalog.resolve_material("dysprosium oxde")
    assert "Dysprosium oxide" in raised.value.suggestions


def test_ambiguous_group_name_is_not_guessed(catalog: Catalog) -> None:
    with pytest.raises(UnknownMaterialError) as raised:
        catalog.resolve_material("graphite")
    assert "Natural graphite" in raised.value.suggestions


def test_no_material_name_resolves_to_two_materials() -> None:
    def key(text: str) -> str:
        # Independent of the catalog's own normaliser, on purpose.
        return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())

    owner_by_key: dict[str, str] = {}
    clashes = []
    with MATERIALS_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            names = [row["material_id"], row["display_name"], *row["aliases"].split(";")]
            for name in filter(None, (name.strip() for name in names)):
                owner = owner_by_key.setdefault(key(name), row["material_id"])
                if owner != row["material_id"]:
                    clashes.append((name, owner, row["material_id"]))
    assert clashes == []


def test_materials_are_well_formed(catalog: Catalog) -> None:
    for material_id in catalog.material_ids:
        material = catalog.material(material_id)
        assert material.stage in STAGES
        assert material.hs_codes
        for commodity in material.commodities:
            assert catalog.commodity_lineage(commodity)[0] == commodity
    assert catalog.material("ndfeb_magnet").primary_commodity == "ndpr"
    assert catalog.material("smco_magnet").commodities == ("samarium", "cobalt")


def test_commodity_lineage_runs_from_element_to_root(catalog: Catalog) -> None:
    assert catalog.commodity_lineage("dysprosium") == (
        "dysprosium",
        "heavy_rare_earths",
        "rare_earths",
    )
    assert catalog.commodity_lineage("gallium") == ("gallium",)


def test_production_dataset_is_inherited_from_the_nearest_ancestor(catalog: Catalog) -> None:
    assert catalog.production_dataset("dysprosium", "refining") == "heavy_rare_earths_separated"
    assert catalog.production_dataset("dysprosium", "mine") == "rare_earths_reo"
    assert catalog.production_dataset("ndpr", "refining") == "rare_earths_magnet_ree"
    # the light rare-earth separation shares of the EU CRM 2023 study, set on light_rare_earths
    assert catalog.production_dataset("lanthanum", "refining") == "light_rare_earths_separated"
    assert catalog.production_dataset("graphite_synthetic", "mine") is None


@pytest.mark.parametrize(
    ("tag", "material_id", "expected"),
    [
        ("rare_earths", "dysprosium_oxide", True),
        ("rare_earths", "ndpr_oxide", True),
        ("rare_earths", "rare_earth_concentrate", True),
        ("rare_earths", "ndfeb_magnet", True),
        ("rare_earths", "cobalt_metal", False),
        ("dysprosium", "dysprosium_oxide", True),
        ("dysprosium", "dysprosium_metal", True),
        ("dysprosium", "ndfeb_magnet", True),
        ("dysprosium", "ndpr_oxide", False),
        ("dysprosium", "rare_earth_concentrate", False),
        ("monazite", "rare_earth_concentrate", True),
        ("monazite", "dysprosium_oxide", False),
        ("nickel_ore", "nickel_ore", True),
        ("nickel_ore", "nickel_metal", False),
        ("samarium", "smco_magnet", True),
        ("graphite", "spherical_graphite", True),
        ("raw_minerals", "bauxite", True),
        ("raw_minerals", "alumina", False),
        ("coal", "iron_ore", False),
    ],
)
def test_tag_coverage(catalog: Catalog, tag: str, material_id: str, expected: bool) -> None:
    # A tag on an element does not cover materials of its parent group: dysprosium covers
    # NdFeB magnets (they contain Dy) but not rare-earth concentrate.
    event = pl.LazyFrame(
        {"event_id": ["e1"], "materials": [tag], "stages": [None]},
        schema={"event_id": pl.String, "materials": pl.String, "stages": pl.String},
    )
    covered = event_material_coverage(event, catalog).collect()["material_id"].to_list()
    assert (material_id in covered) is expected


def test_unknown_tag_is_a_key_error(catalog: Catalog) -> None:
    with pytest.raises(KeyError):
        catalog.tag_coverage("unobtainium")


@pytest.mark.parametrize("tag", policy_event_tags())
def test_every_policy_event_tag_is_known(catalog: Catalog, tag: str) -> None:
    commodities, stages = catalog.tag_coverage(tag)
    for commodity in commodities:
        assert catalog.commodity_lineage(commodity)[0] == commodity
    assert stages <= set(STAGES)
    assert tag in catalog.known_tags()


@pytest.mark.parametrize(
    ("text", "iso3"),
    [
        ("Viet Nam", "VNM"),
        ("VN", "VNM"),
        ("VNM", "VNM"),
        ("Vietnam", "VNM"),
        ("NA", "NAM"),
        ("Niger", "NER"),
        ("Nigeria", "NGA"),
        ("UK", "GBR"),
        ("Korea, Republic of", "KOR"),
        ("Korea, Rep.", "KOR"),
        ("South Korea", "KOR"),
        ("DRC", "COD"),
        ("  cn ", "CHN"),
        ("156", "CHN"),
        ("Côte d'Ivoire", "CIV"),
        ("Kosovo", "XKX"),
        ("XKX", "XKX"),
    ],
)
def test_country_resolves(text: str, iso3: str) -> None:
    assert normalise_country(text) == iso3


@pytest.mark.parametrize(
    ("text", "iso3"),
    [
        ("Deutschland", "DEU"),
        ("Allemagne", "DEU"),
        ("ドイツ", "DEU"),
        ("中国", "CHN"),
        ("中國", "CHN"),
        ("중국", "CHN"),
        ("Chine", "CHN"),
        ("大韓民国", "KOR"),
        ("Corée, République de", "KOR"),
        ("Russische Föderation", "RUS"),
        ("Vereinigte Staaten", "USA"),
        ("Estados Unidos", "USA"),
        ("P.R. China", "CHN"),
        ("PR China", "CHN"),
        ("Russian Fed.", "RUS"),
    ],
)
def test_national_and_short_forms_of_country_names_resolve(text: str, iso3: str) -> None:
    assert normalise_country(text) == iso3


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("Germny", "DEU (Germany)"),
        ("Russian Fedration", "RUS (Russian Federation)"),
        ("Untied States", "USA (United States)"),
    ],
)
def test_a_misspelt_country_is_refused_with_suggestions_never_resolved(
    text: str, suggestion: str
) -> None:
    with pytest.raises(CountryError) as raised:
        normalise_country(text)
    assert raised.value.candidates == []
    assert raised.value.suggestions[0] == suggestion
    assert f"closest known: {suggestion}" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("Korea", ["KOR (Korea, Republic of)", "PRK (Korea, Democratic People's Republic of)"]),
        ("Congo", ["COD (Congo, The Democratic Republic of the)", "COG (Congo)"]),
    ],
)
def test_ambiguous_country_names_the_candidates(text: str, candidates: list[str]) -> None:
    with pytest.raises(CountryError) as raised:
        normalise_country(text)
    assert raised.value.candidates == candidates


@pytest.mark.parametrize("text", ["Atlantis", "EU", "Asia", ""])
def test_unknown_country_has_no_candidates(text: str) -> None:
    with pytest.raises(CountryError) as raised:
        normalise_country(text)
    assert raised.value.candidates == []
    assert raised.value.suggestions == []


@given(st.sampled_from(sorted(country.alpha_3 for country in pycountry.countries)))
def test_normalise_country_is_idempotent_on_iso3(iso3: str) -> None:
    assert normalise_country(iso3) == iso3
    assert normalise_country(normalise_country(iso3.lower())) == iso3


# ------------------------------------------------------------- the catalog contracts, tiny tables


def tiny_tables(**tables: dict[str, list[str | None]]) -> dict[str, pl.DataFrame]:
    """A valid three-table catalog (two commodities, two materials, one tag), with changes."""
    columns: dict[str, dict[str, list[str | None]]] = {
        "commodities": {
            "commodity_id": ["rare_earths", "dysprosium"],
            "parent_id": [None, "rare_earths"],
            "display_name": ["Rare earths", "Dysprosium"],
            "production_mine": ["rare_earths_reo", None],
            "production_refining": [None, None],
        },
        "materials": {
            "material_id": ["dysprosium_oxide", "rare_earth_concentrate"],
            "display_name": ["Dysprosium oxide", "Rare earth concentrate"],
            "commodities": ["dysprosium", "rare_earths"],
            "stage": ["oxide_compound", "ore_concentrate"],
            "hs_codes": ["2846.90", "2530.90; 2846.10"],
            "aliases": ["Dy2O3", None],
        },
        "policy_tags": {
            "tag": ["all_minerals"],
            "commodities": ["*"],
            "stages": ["ore_concentrate;oxide_compound"],
        },
    }
    for name, changes in tables.items():
        columns[name] = {**columns[name], **changes}
    return {
        name: pl.DataFrame(table, schema=dict.fromkeys(table, pl.String))
        for name, table in columns.items()
    }


def catalog_error(**tables: dict[str, list[str | None]]) -> str:
    with pytest.raises(ValueError) as raised:
        Catalog(**tiny_tables(**tables))
    assert not isinstance(raised.value, MissingColumnsError)
    return str(raised.value)


def test_a_tiny_valid_catalog_loads() -> None:
    catalog = Catalog(**tiny_tables())

    assert catalog.material_ids == ("dysprosium_oxide", "rare_earth_concentrate")
    assert catalog.material("rare_earth_concentrate").hs_codes == ("2530.90", "2846.10")
    assert catalog.tag_coverage("all_minerals") == (
        frozenset({"rare_earths", "dysprosium"}),
        frozenset({"ore_concentrate", "oxide_compound"}),
    )


def test_a_missing_catalog_column_names_table_and_column() -> None:
    tables = tiny_tables()
    tables["materials"] = tables["materials"].drop("stage", "hs_codes")

    with pytest.raises(MissingColumnsError) as raised:
        Catalog(**tables)

    assert str(raised.value) == "materials.csv: missing columns stage, hs_codes"


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        pytest.param(
            {"commodities": {"commodity_id": ["rare_earths", "Dysprosium"]}},
            "commodities.csv line 3: column commodity_id: 'Dysprosium' must be lowercase",
            id="identifier",
        ),
        pytest.param(
            {"materials": {"material_id": ["dysprosium_oxide", "dysprosium_oxide"]}},
            "materials.csv line 3: column material_id: 'dysprosium_oxide' is duplicated",
            id="duplicate-id",
        ),
        pytest.param(
            {"commodities": {"parent_id": [None, "lanthanides"]}},
            "commodities.csv line 3: column parent_id: unknown parent_id 'lanthanides'",
            id="unknown-parent",
        ),
        pytest.param(
            {"materials": {"commodities": ["dysprosium;unobtainium", "rare_earths"]}},
            "materials.csv line 2: column commodities: 'dysprosium;unobtainium' names an unknown",
            id="unknown-commodity",
        ),
        pytest.param(
            {"materials": {"stage": ["oxide_compound", "concentrate"]}},
            "materials.csv line 3: column stage: 'concentrate' is not one of ore_concentrate, ",
            id="stage",
        ),
        pytest.param(
            {"policy_tags": {"stages": ["ore_concentrate;powder"]}},
            "policy_tags.csv line 2: column stages: 'ore_concentrate;powder' names a stage not",
            id="tag-stage",
        ),
        pytest.param(
            {"materials": {"hs_codes": ["284690", "2530.90"]}},
            "materials.csv line 2: column hs_codes: HS codes '284690' are not written like",
            id="hs-code",
        ),
        pytest.param(
            {"materials": {"display_name": ["Dysprosium oxide", "  "]}},
            "materials.csv line 3: column display_name: value is required",
            id="required",
        ),
        pytest.param(
            {"policy_tags": {"tag": ["dysprosium"]}},
            "policy_tags.csv line 2: column tag: tag 'dysprosium' is a commodity id",
            id="tag-is-a-commodity",
        ),
        pytest.param(
            {"policy_tags": {"commodities": ["*;dysprosium"]}},
            "policy_tags.csv line 2: column commodities: '*' cannot be combined",
            id="all-roots-alone",
        ),
    ],
)
def test_the_catalog_contracts_refuse(
    tables: dict[str, dict[str, list[str | None]]], expected: str
) -> None:
    assert expected in catalog_error(**tables)


# ------------------------------------------------------------------ contracts checked once


@pytest.fixture
def fresh_catalog_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty disk cache of the test's own; every call of load_catalog reads anew."""
    from riskengine.config import CACHE_DIR_ENV

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    load_catalog.cache_clear()
    yield tmp_path / "cache"
    load_catalog.cache_clear()


def _contracts_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from riskengine.pandera_polars import pa

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("contracts checked again")

    monkeypatch.setattr(pa.DataFrameSchema, "validate", refuse)


def test_the_shipped_catalogs_contracts_are_checked_once_per_code_and_files(
    fresh_catalog_loads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import riskengine.catalog as catalog_module
    from riskengine import disk_cache

    first = load_catalog()
    assert list((fresh_catalog_loads / "catalog").iterdir())  # the mark
    _contracts_refused(monkeypatch)
    load_catalog.cache_clear()
    again = load_catalog()  # from the mark: no contract checked
    assert again.material_ids == first.material_ids
    assert again.known_tags() == first.known_tags()
    # Other bytes (the same table with other line ends), or other code, are checked anew.
    read = catalog_module._read_package_bytes
    monkeypatch.setattr(
        catalog_module,
        "_read_package_bytes",
        lambda name: read(name).replace(b"\n", b"\r\n") if name == "materials.csv" else read(name),
    )
    load_catalog.cache_clear()
    with pytest.raises(AssertionError, match="checked again"):
        load_catalog()
    monkeypatch.setattr(catalog_module, "_read_package_bytes", read)
    monkeypatch.setattr(disk_cache, "CODE_DIGEST", "other code")
    load_catalog.cache_clear()
    with pytest.raises(AssertionError, match="checked again"):
        load_catalog()


def test_a_catalog_taken_as_meeting_its_contracts_still_refuses_what_builds_no_index() -> None:
    # Only the contracts are taken as known; the tree and the names are always checked.
    tables = tiny_tables(commodities={"parent_id": ["dysprosium", "rare_earths"]})
    with pytest.raises(ValueError, match="cycle"):
        Catalog(**tables, _contracts_checked=True)


def test_the_country_aliases_are_checked_once_and_reference_check_checks_all_anew(
    fresh_catalog_loads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import riskengine.catalog as catalog_module
    from riskengine.catalog import check_shipped_catalog

    index = catalog_module._country_index()
    aliases = catalog_module._country_aliases(index.alpha_2, index.alpha_3)
    load_catalog()
    _contracts_refused(monkeypatch)
    # Marked: neither is checked again.
    assert catalog_module._country_aliases(index.alpha_2, index.alpha_3) == aliases
    load_catalog.cache_clear()
    load_catalog()
    # `riskengine reference check` checks them whatever the marks say.
    with pytest.raises(AssertionError, match="checked again"):
        check_shipped_catalog()
    monkeypatch.setattr(
        catalog_module, "Catalog", lambda **tables: None
    )  # past the catalog, to the aliases
    with pytest.raises(AssertionError, match="checked again"):
        check_shipped_catalog()
