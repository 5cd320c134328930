"""Drivers in plain words: each names the fact behind it and the source of that fact.

Every fact comes from the feature table (computed from what was known at ``as_of``) or from
reference rows filtered the same way, so no driver can cite something learned later.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.features.concentration import latest_country_shares
from riskengine.features.runner import known_at
from riskengine.reference.loader import ReferenceData

DATASET_LABELS = {
    "rare_earths_reo": "rare-earth ore",
    "heavy_rare_earths_separated": "separated heavy rare earths",
    "rare_earths_magnet_ree": "refined magnet rare earths (Nd, Pr, Dy, Tb)",
    "graphite_natural": "natural graphite",
    "magnesium_metal": "primary magnesium",
    "silicon_metal": "silicon metal",
    "titanium_sponge": "titanium sponge",
}
MEASURE_PHRASES = {
    "export_licensing": "need an export licence",
    "export_quota": "are under an export quota",
    "export_tax": "carry an export tax",
    "export_ban": "are banned",
}
MEASURE_NOUNS = {
    "export_licensing": "export licensing",
    "export_quota": "export quota",
    "export_tax": "export tax",
    "export_ban": "export ban",
}
FAMILY_ORDER = ("export_controls", "policy", "concentration")
# The feature columns a driver text (and a hard rule) reads; rows equal on these get equal text.
DRIVER_COLUMNS = (
    "material_id",
    "supplier_country",
    "production_basis",
    "export_control_event",
    "destination_measure_event",
    "buyer_listing_entity",
    "buyer_listing_match_score",
    "buyer_listed",
    "supplier_listed_by_buyer_country",
    "supplier_listing_entity",
    "flow_ban_in_force",
    "announced_event",
    "supplier_country_measures_in_force",
)
MAX_DRIVERS = 4


def percent(share: float) -> str:
    """A share in words: whole percent, with two decimals below 1%."""
    return f"{share:.2%}" if 0 < share < 0.01 else f"{share:.0%}"


# Where the ISO short name reads badly in a sentence ("Congo, The Democratic Republic of the").
SHORT_COUNTRY_NAMES = {
    "BOL": "Bolivia",
    "COD": "DR Congo",
    "IRN": "Iran",
    "KOR": "South Korea",
    "LAO": "Laos",
    "MDA": "Moldova",
    "PRK": "North Korea",
    "RUS": "Russia",
    "SYR": "Syria",
    "TWN": "Taiwan",
    "TZA": "Tanzania",
    "VEN": "Venezuela",
    "VNM": "Vietnam",
}


# Driver texts repeat a few dozen countries and sources over thousands of distinct rows.
@lru_cache(maxsize=4096)
def country_name(iso3: str | None) -> str:
    """A readable country name for an ISO alpha-3 code."""
    if iso3 is None:
        return "an unknown country"
    if iso3 in SHORT_COUNTRY_NAMES:
        return SHORT_COUNTRY_NAMES[iso3]
    import pycountry

    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        return iso3
    return getattr(country, "common_name", None) or country.name


@lru_cache(maxsize=4096)
def short_source(source: str) -> str:
    """The publication part of a source citation (before its first comma, bracket or dash),
    without web addresses."""
    without_urls = re.sub(r"\s*https?://\S+", "", source)
    return re.split(r" \(|, | - |; ", without_urls, maxsplit=1)[0].strip()


def event_reference(event: dict) -> str:
    """How to cite an event: the instrument named before the colon, else its source."""
    head = event["description"].split(":", 1)[0].strip() if event["description"] else ""
    if head and len(head) <= 80 and head != event["description"]:
        return head
    return short_source(event["source"])


class DriverWriter:
    """Renders the drivers of scored pairs as of one date."""

    def __init__(self, reference: ReferenceData, as_of: date) -> None:
        sources = known_at(reference, as_of)
        shares = latest_country_shares(sources["production"]).collect()
        self._shares = {
            (row["dataset"], row["production_stage"], row["country_iso3"]): row
            for row in shares.iter_rows(named=True)
        }
        self._top = {
            (row["dataset"], row["production_stage"]): row
            for row in shares.filter(pl.col("country_iso3") != "ROW")
            .sort("share", descending=True)
            .unique(["dataset", "production_stage"], keep="first")
            .iter_rows(named=True)
        }
        self._events = {
            row["event_id"]: row for row in sources["policy_events"].collect().iter_rows(named=True)
        }
        self._catalog = load_catalog()

    def concentration(self, row: dict) -> list[str]:
        basis = row.get("production_basis")
        if not basis:
            material = self._catalog.material(row["material_id"]).display_name
            return [
                f"No production figures for {material} or the commodity above it are in the "
                "reference data known at this date: its supply concentration is unknown and "
                "counts as missing in the model (reference data: production)"
            ]
        dataset, stage, year = basis.split("|")
        label = DATASET_LABELS.get(dataset, f"{dataset.replace('_', ' ')} ({stage} output)")
        supplier = row["supplier_country"]
        material_record = self._catalog.material(row["material_id"])
        # A processed material judged on mine output is a fallback up the commodity tree; say
        # so, since processing is often far more concentrated than mining.
        fallback = (
            f"; no {material_record.stage.replace('_', '/')}-stage figures, so mine output "
            "stands in"
            if stage == "mine" and material_record.stage != "ore_concentrate"
            else ""
        )
        own = self._shares.get((dataset, stage, supplier))
        if own is not None and (own["share"] or 0) > 0:
            return [
                f"{country_name(supplier)} produced {percent(own['share'])} of world {label} in "
                f"{year}{fallback} ({short_source(own['source'])})"
            ]
        top = self._top.get((dataset, stage))
        if top is None:
            return []
        return [
            f"{country_name(top['country_iso3'])} produced {percent(top['share'])} of world "
            f"{label} in {year}; {country_name(supplier)} is not a listed producer{fallback} "
            f"({short_source(top['source'])})"
        ]

    def _measure_sentence(self, event: dict, row: dict) -> str:
        material = self._catalog.material(row["material_id"]).display_name
        exporter = country_name(event["country_iso3"])
        if event["scope"] == "military_end_use":
            return (
                f"{exporter} bans dual-use exports to military end users in "
                f"{country_name(event['target_country_iso3'])} since {event['effective']} "
                f"({event_reference(event)})"
            )
        destination = (
            f" to {country_name(event['target_country_iso3'])}"
            if event["target_country_iso3"]
            else ""
        )
        return (
            f"{material} exports from {exporter}{destination} "
            f"{MEASURE_PHRASES[event['measure']]} since {event['effective']} "
            f"({event_reference(event)})"
        )

    def export_controls(self, row: dict) -> list[str]:
        sentences = []
        for column in ("destination_measure_event", "export_control_event"):
            event = self._events.get(row.get(column) or "")
            if event is not None:
                sentences.append(self._measure_sentence(event, row))
        listing = row.get("buyer_listing_entity")
        if listing:
            entity, list_name, listed_on = listing.split("|")
            sentences.append(
                f"Buyer matches '{entity}' on the {list_name}, listed {listed_on} "
                f"(match score {row['buyer_listing_match_score']:.2f})"
            )
        return sentences

    def policy(self, row: dict) -> list[str]:
        sentences = []
        event = self._events.get(row.get("announced_event") or "")
        if event is not None:
            material = self._catalog.material(row["material_id"]).display_name
            when = (
                f"taking effect {event['effective']}"
                if event["effective"]
                else "with no effective date yet"
            )
            announced = event["announced"] or event["effective"]
            sentences.append(
                f"{country_name(event['country_iso3'])} announced on {announced} an "
                f"{MEASURE_NOUNS[event['measure']]} covering {material}, {when} "
                f"({event_reference(event)})"
            )
        # A count of measures in force changes only when one starts or ends, unlike a trailing
        # window, so the sentence moves with the facts as the score does.
        in_force = row.get("supplier_country_measures_in_force") or 0
        if in_force:
            sentences.append(
                f"{country_name(row['supplier_country'])} has {in_force} restrictive export "
                f"measure{'s' if in_force > 1 else ''} in force on some material (policy events)"
            )
        return sentences

    def drivers(self, row: dict, ranked_families: list[str], rules: list[str]) -> str:
        """The drivers of one pair: hard rules first, then the families that raise its score, in
        the order of how much they raise it, then the rest (facts that did not raise it)."""
        sentences = [f"Hard rule: {rule}" for rule in rules]
        ranked = [*ranked_families, *(f for f in FAMILY_ORDER if f not in ranked_families)]
        if row.get("restriction_state", "none") != "none":
            # The regime in force is the state part of the score: its measure comes first.
            ranked = ["export_controls", *(f for f in ranked if f != "export_controls")]
            if str(row["restriction_state"]).startswith("announced"):
                ranked = ["policy", *(f for f in ranked if f != "policy")]
        for family in ranked:
            for sentence in getattr(self, family)(row):
                if sentence not in sentences and not any(sentence in rule for rule in rules):
                    sentences.append(sentence)
        return " | ".join(sentences[:MAX_DRIVERS])
