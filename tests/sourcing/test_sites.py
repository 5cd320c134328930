"""Supplier countries looked up by supplier site in a supplier-site export (``--supplier-sites``):
names through the one normaliser, a row's own country first, and every row the export cannot
place rejected with the site and the file named."""

from __future__ import annotations

import polars as pl
import pytest

from riskengine.errors import MissingColumnsError
from riskengine.io.columns import named_columns
from riskengine.sourcing.preparation import prepare_chunks
from riskengine.sourcing.sites import SupplierSites

SITES = pl.DataFrame(
    {
        "Supplier": ["Shin-Etsu Chemical", "Shin-Etsu Chemical", "Umicore", "Umicore", "Starck"],
        "Supplier Site": ["Takefu Plant", "TAKEFU PLANT", "Olen", "Olen", "Newton MA"],
        "Country": ["JP", "Japan", "BE", "NL", None],
        "Address Line 1": ["2-1-5 Kitago", "2-1-5 Kitago", "Watertorenstraat 33", "x", "45 Ind."],
    }
)


def _prepared(raw: pl.DataFrame, sites: pl.DataFrame = SITES) -> pl.DataFrame:
    lookup = SupplierSites.from_table(sites, source="sites.csv")
    _, chunks = prepare_chunks(
        [raw], source="asl.csv", buyer_country="US", buyer_name=None, sites=lookup
    )
    return next(chunks).resolved


def test_a_row_without_a_country_takes_its_sites_names_read_by_the_normaliser() -> None:
    raw = pl.DataFrame(
        {
            "Item Description": ["Dysprosium oxide", "Gallium metal"],
            # Case, spacing and a zero-width space do not make another supplier or site.
            "Supplier": ["SHIN-ETSU  chemical", "Shin-Etsu Chemical\u200b"],
            "Supplier Site": ["takefu plant", " Takefu   Plant "],
        }
    )

    resolved = _prepared(raw)

    # "JP" and "Japan" on two rows of one site are one country, not two.
    assert resolved["supplier_country"].to_list() == ["JPN", "JPN"]
    assert resolved["reason"].to_list() == [None, None]


def test_a_rows_own_country_wins_over_its_sites() -> None:
    raw = pl.DataFrame(
        {
            "material": ["Dysprosium oxide", "Gallium metal"],
            "supplier": ["Shin-Etsu Chemical", "Shin-Etsu Chemical"],
            "supplier_site": ["Takefu Plant", "Takefu Plant"],
            "supplier_country": ["CN", None],
        }
    )

    resolved = _prepared(raw)

    assert resolved["supplier_country"].to_list() == ["CHN", "JPN"]


def test_a_site_the_export_cannot_place_rejects_its_row_naming_site_and_file() -> None:
    raw = pl.DataFrame(
        {
            "Item Description": ["Dysprosium oxide"] * 5,
            "Supplier": ["Umicore", "Starck", "Starck", "Umicore", "Shin-Etsu Chemical"],
            "Supplier Site": ["Olen", "Newton MA", "Goslar", None, "Olen"],
            "Ship-To Org": ["M1", "M1", "M1", "M2", "M1"],
        }
    )

    reasons = _prepared(raw)["reason"].to_list()

    assert reasons == [
        "no supplier country: supplier site 'Olen' of 'Umicore' has 2 countries in sites.csv "
        "(BE, NL)",
        "no supplier country: supplier site 'Newton MA' of 'Starck' has no country in sites.csv",
        "no supplier country: supplier site 'Goslar' of 'Starck' is not in sites.csv",
        "no supplier country, and no supplier site to look up in sites.csv",
        # A site is the supplier's own: another supplier's "Olen" is not this one's.
        "no supplier country: supplier site 'Olen' of 'Shin-Etsu Chemical' is not in sites.csv",
    ]


def test_a_country_of_the_export_that_names_no_country_is_named_with_its_site() -> None:
    sites = pl.DataFrame({"Supplier": ["Acme"], "Supplier Site": ["Main"], "Country": ["Japn"]})
    raw = pl.DataFrame({"material": ["Dy2O3"], "supplier": ["Acme"], "Supplier Site": ["Main"]})

    [reason] = _prepared(raw, sites)["reason"].to_list()

    assert reason.startswith(
        "no supplier country: the country of supplier site 'Main' of 'Acme' in sites.csv: "
        "unknown country 'Japn'"
    )


def test_an_export_without_the_needed_columns_names_them() -> None:
    with pytest.raises(MissingColumnsError) as caught:
        SupplierSites.from_table(SITES.drop("Country", "Supplier"), source="sites.csv")

    message = str(caught.value)
    assert message.startswith("sites.csv: missing required columns 'supplier' (accepted: ")
    assert "'country' (accepted: country, site_country" in message


def test_oracle_table_names_are_read_and_columns_names_only_the_sourcing_list() -> None:
    sites = pl.DataFrame({"VENDOR_NAME": ["Acme"], "VENDOR_SITE_CODE": ["MAIN"], "COUNTRY": ["DE"]})

    # --columns supplier="Lieferant" names the sourcing list's header, not the export's.
    with named_columns({"supplier": "Lieferant"}):
        lookup = SupplierSites.from_table(sites, source="sites.csv")

    assert lookup.lookup.row(0) == ("acme", "main", "DE", None)


def test_a_list_with_neither_country_nor_site_says_what_the_export_needs() -> None:
    raw = pl.DataFrame({"material": ["Dy2O3"], "supplier": ["Acme"]})

    with pytest.raises(MissingColumnsError) as caught:
        _prepared(raw)

    message = str(caught.value)
    assert "missing required column 'supplier_country'" in message
    assert "--supplier-sites sites.csv needs a supplier-site column to look up" in message


def test_one_suppliers_two_sites_are_two_sources_not_a_duplicate_pair() -> None:
    sites = pl.DataFrame(
        {
            "Supplier": ["Starck", "Starck", "Starck"],
            "Supplier Site": ["Newton MA", "Euclid OH", "Euclid OH"],
            "Country": ["US", "US", "US"],
        }
    )
    raw = pl.DataFrame(
        {
            "Item Description": ["Tantalum powder"] * 3,
            "Supplier": ["Starck"] * 3,
            "Supplier Site": ["Newton MA", "Euclid OH", "EUCLID  OH"],
        }
    )

    reasons = _prepared(raw, sites)["reason"].to_list()

    assert reasons[0] is None
    assert reasons[1] == reasons[2] == "duplicate pair: data rows 2, 3 repeat it"
