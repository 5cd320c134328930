"""Why a pair's score changed between two runs: the dated facts, inputs and provenance behind it.

Causes are read from the facts, never guessed: a policy event announced, taking effect or ending
between the two as-of dates (or added, changed or ended in the reference data between the two
runs) that reaches the pair the way the features read events; a listing the buyer or supplier
newly matches or no longer matches (the screening features, at each run's date and reference
data); a production or governance edition published in between that the pair's features read;
the row's own input cells; the material mapping, the reference data and the model version.
Each cause carries its source (the event's or listing's ``source`` column). Several causes are
listed most specific first: the row's inputs, a listing of its names, events on its flow, aimed
at its buyer's country, by its supplier's country, on its material by other countries; then
production and governance editions; then the mapping, the reference data and the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from riskengine.explain import country_name
from riskengine.features.builders import registry
from riskengine.features.common import event_known_from, event_material_coverage
from riskengine.features.export_controls import RESTRICTIVE

# The features' own map from a material to the unprocessed forms of its commodity, so that a
# peer's ore ban reaches the pairs `peer_unprocessed_bans_in_force` counts it for.
from riskengine.features.policy import ore_of
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import build_features
from riskengine.reference.diff import diff_reference
from riskengine.reference.loader import ReferenceData
from riskengine.schemas import STATUS_SCORED

KIND_PAIR = "pair"
KIND_STATUS = "status"
KIND_INPUT = "input"
KIND_LISTING = "listing"
KIND_EVENT = "event"
KIND_PRODUCTION = "production"
KIND_GOVERNANCE = "governance"
KIND_MAPPING = "mapping"
KIND_REFERENCE = "reference"
KIND_MODEL = "model"
NO_CAUSE_KIND = "none"

#: How an event reaches a pair, most specific first (the order causes are listed in).
REACH_FLOW = "on this flow"
REACH_BUYER_COUNTRY = "aimed at the buyer's country"
REACH_SUPPLIER_COUNTRY = "by the supplier's country on other materials"
REACH_MATERIAL = "on this material by another country"
REACHES = (REACH_FLOW, REACH_BUYER_COUNTRY, REACH_SUPPLIER_COUNTRY, REACH_MATERIAL)

#: Evidence columns the causes read besides the model inputs.
EVIDENCE_FEATURES = ("production_basis", "buyer_listing_entity", "supplier_listing_entity")
GOVERNANCE_FEATURES = ("material_hhi_wgi", "supplier_country_governance")
_RELATION = re.compile(r" \((?P<relation>[^()]*?) of (?P<parent>.*)\)$")


@dataclass(frozen=True)
class CauseContext:
    """The two runs' dates, reference data and provenance."""

    old_as_of: date
    new_as_of: date
    old_reference: ReferenceData
    new_reference: ReferenceData
    old_model: str
    new_model: str
    old_fingerprint: str | None
    new_fingerprint: str | None
    old_mapping: str | None
    new_mapping: str | None
    buyer_name: str | None = None
    old_label: str = "old"
    new_label: str = "new"

    def rows_text(self, row: dict[str, Any]) -> str:
        """Where a pair is in the two files ("old.csv row 3, new.csv row 4")."""
        return ", ".join(
            f"{label} row {row[f'{side}_row_number']}"
            for side, label in (("old", self.old_label), ("new", self.new_label))
            if row.get(f"{side}_row_number") is not None
        )

    @property
    def window(self) -> tuple[date, date]:
        """The two as-of dates, earlier first: facts dated after the first and on or before
        the second changed between the runs."""
        return min(self.old_as_of, self.new_as_of), max(self.old_as_of, self.new_as_of)

    def in_window(self, day: date | None) -> bool:
        """Whether ``day`` falls after the earlier as-of date and on or before the later."""
        low, high = self.window
        return day is not None and low < day <= high


@dataclass(frozen=True)
class Cause:
    """One reason a pair changed."""

    kind: str
    text: str
    identifier: str = ""
    source: str = ""


@dataclass
class _EventChange:
    """A policy event that changed between the runs, and how it reaches materials."""

    row: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    materials: frozenset[str] = frozenset()
    ore_materials: frozenset[str] = frozenset()

    def reach(self, material: str, supplier: str | None, buyer: str | None) -> str | None:
        """How this event reaches the pair (a :data:`REACHES` value), or None; the rules
        are the features' (:mod:`riskengine.features.export_controls`, ``policy``)."""
        row = self.row
        target = row["target_country_iso3"]
        restrictive = row["measure"] in RESTRICTIVE
        flow_scope = row["scope"] == "flow"
        from_supplier = row["country_iso3"] == supplier
        aimed_at_buyer = buyer is not None and target == buyer
        if (
            from_supplier
            and material in self.materials
            and restrictive
            and (target is None or aimed_at_buyer)
            and (flow_scope or (row["scope"] == "military_end_use" and aimed_at_buyer))
        ):
            return REACH_FLOW
        if aimed_at_buyer and (restrictive or row["measure"] == "entity_listing"):
            return REACH_BUYER_COUNTRY
        if not (restrictive and flow_scope):
            return None
        if from_supplier:
            return REACH_SUPPLIER_COUNTRY
        peer_ore_ban = (
            row["measure"] == "export_ban" and target is None and material in self.ore_materials
        )
        if material in self.materials or peer_ore_ban:
            return REACH_MATERIAL
        return None

    def cause(self, reach: str) -> Cause:
        row = self.row
        materials = ", ".join(part.strip() for part in (row["materials"] or "").split(";"))
        stages = f" ({row['stages'].replace(';', ', ')})" if row["stages"] else ""
        target = row["target_country_iso3"]
        destination = f"to {country_name(target)}" if target else "to all destinations"
        measure = str(row["measure"]).replace("_", " ")
        return Cause(
            KIND_EVENT,
            f"{row['event_id']} {', '.join(self.changes)} ({reach}): {measure} by "
            f"{country_name(row['country_iso3'])} of {materials}{stages} {destination}",
            row["event_id"],
            row["source"] or "",
        )


def _text(day: date | None) -> str:
    return day.isoformat() if day else ""


def _event_changes(context: CauseContext) -> list[_EventChange]:
    """Events announced (or first known), taking effect or ending between the two as-of
    dates, as the features see them (known by the later date), and events the reference data
    added, removed, changed or ended between the runs."""
    _, high = context.window
    events = context.new_reference.policy_events.with_columns(event_known_from().alias("known"))
    found: dict[str, _EventChange] = {}
    for row in events.filter(pl.col("known") <= high).iter_rows(named=True):
        changes = []
        known_label = (
            "announced"
            if row["announced"] is not None and row["date_precision"] == "day"
            else "known from"
        )
        if context.in_window(row["known"]) and row["known"] != row["effective"]:
            changes.append(f"{known_label} {_text(row['known'])}")
        if context.in_window(row["effective"]):
            changes.append(f"took effect {_text(row['effective'])}")
        if context.in_window(row["ended"]):
            changes.append(f"ended {_text(row['ended'])}")
        if changes:
            found[row["event_id"]] = _EventChange(row, changes)
    if context.old_reference is not context.new_reference:
        old_rows = {
            row["event_id"]: row
            for row in context.old_reference.policy_events.iter_rows(named=True)
        }
        new_rows = {row["event_id"]: row for row in events.iter_rows(named=True)}
        differences = diff_reference(context.old_reference, context.new_reference).filter(
            pl.col("table") == "policy_events"
        )
        for event_id, change, column in differences.select("key", "change", "field").iter_rows():
            row = new_rows.get(event_id) or old_rows[event_id]
            entry = found.setdefault(event_id, _EventChange(row))
            what = f"{change} in the reference data" + (f" ({column})" if column else "")
            if what not in entry.changes:
                entry.changes.append(what)
    _attach_coverage(list(found.values()))
    return sorted(found.values(), key=lambda entry: entry.row["event_id"])


def _attach_coverage(entries: list[_EventChange]) -> None:
    """Each event's catalog materials, and the materials whose unprocessed form it covers."""
    if not entries:
        return
    rows = pl.DataFrame([entry.row for entry in entries], infer_schema_length=None).select(
        "event_id", "materials", "stages"
    )
    coverage = event_material_coverage(rows.lazy()).collect()
    ores = ore_of()
    for entry in entries:
        covered = coverage.filter(pl.col("event_id") == entry.row["event_id"])["material_id"]
        entry.materials = frozenset(covered.to_list())
        entry.ore_materials = frozenset(
            ores.filter(pl.col("ore_material_id").is_in(covered.implode()))["material_id"].to_list()
        )


def _spine(listed: pl.DataFrame, buyer_name: str | None) -> pl.DataFrame:
    """One feature-spine row per listed row that has a resolved material and supplier country
    on either side (the new run's values first); other rows get no fact causes."""
    return listed.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
        pl.coalesce("new_material_id", "old_material_id").alias("material_id"),
        pl.coalesce("new_supplier_country_iso3", "old_supplier_country_iso3").alias(
            "supplier_country"
        ),
        pl.coalesce("new_buyer_country_iso3", "old_buyer_country_iso3").alias("buyer_country"),
        pl.coalesce("new_supplier", "old_supplier").alias("supplier_name"),
        pl.coalesce("new_buyer", "old_buyer", pl.lit(buyer_name, dtype=pl.String)).alias(
            "buyer_name"
        ),
    ).filter(pl.col("material_id").is_not_null() & pl.col("supplier_country").is_not_null())


def _features(spine: pl.DataFrame, context: CauseContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The model inputs and the evidence the causes read, at each run's date and reference."""
    specs = [
        spec
        for spec in registry()
        if spec.keys is not None and (spec.model_input or spec.name in EVIDENCE_FEATURES)
    ]
    return (
        build_features(spine, context.old_reference, as_of=context.old_as_of, specs=specs),
        build_features(spine, context.new_reference, as_of=context.new_as_of, specs=specs),
    )


def find_causes(listed: pl.DataFrame, context: CauseContext) -> pl.DataFrame:
    """The causes of each listed pair, in the order of ``listed``.

    Parameters
    ----------
    listed
        Matched pairs with ``change`` (changed, added, removed) and both runs' columns
        (``old_``/``new_`` prefixes: material_id, supplier_country_iso3,
        buyer_country_iso3, supplier, buyer, status, reason, inputs).
    context
        The runs' dates, reference data and provenance.

    Returns
    -------
    pl.DataFrame
        Lists per row: ``cause_texts``, ``cause_kinds``, ``cause_ids``, ``cause_sources``
        (aligned), and ``changed_features`` (the model inputs whose value differs).
    """
    spine = _spine(listed, context.buyer_name)
    old_features, new_features = _features(spine, context)
    old_by_row = {row[PAIR_KEY]: row for row in old_features.iter_rows(named=True)}
    new_by_row = {row[PAIR_KEY]: row for row in new_features.iter_rows(named=True)}
    events = _event_changes(context)
    model_inputs = [spec.name for spec in registry() if spec.model_input and spec.keys is not None]
    global_causes = _global_causes(context)
    results: list[tuple[list[Cause], list[str]]] = []
    for index, row in enumerate(listed.iter_rows(named=True)):
        if row["change"] != "changed":
            side = "new" if row["change"] == "added" else "old"
            other = "old" if side == "new" else "new"
            results.append(
                ([Cause(KIND_PAIR, f"pair only in the {side} run (not in the {other} run)")], [])
            )
            continue
        old, new = old_by_row.get(index), new_by_row.get(index)
        changed = [name for name in model_inputs if old[name] != new[name]] if old and new else []
        causes = [*_status_causes(row, context), *_input_causes(row, context)]
        if old and new:
            causes += _listing_causes(old, new, context)
            causes += _reached_events(events, new)
            causes += _production_causes(old, new, context)
            if any(old[name] != new[name] for name in GOVERNANCE_FEATURES):
                causes += _governance_causes(context)
        causes += global_causes
        if not causes:
            inputs_note = f" (model inputs that moved: {', '.join(changed)})" if changed else ""
            causes = [
                Cause(
                    NO_CAUSE_KIND,
                    "no cause found: no input, listing, policy event, production or governance "
                    "edition, mapping, reference data or model change reaches this pair between "
                    f"the two runs{inputs_note}",
                )
            ]
        results.append((causes, changed))
    return pl.DataFrame(
        {
            "cause_texts": [[cause.text for cause in causes] for causes, _ in results],
            "cause_kinds": [[cause.kind for cause in causes] for causes, _ in results],
            "cause_ids": [[cause.identifier for cause in causes] for causes, _ in results],
            "cause_sources": [[cause.source for cause in causes] for causes, _ in results],
            "changed_features": [changed for _, changed in results],
        },
        schema={
            name: pl.List(pl.String)
            for name in (
                "cause_texts",
                "cause_kinds",
                "cause_ids",
                "cause_sources",
                "changed_features",
            )
        },
    )


def _status_causes(row: dict[str, Any], context: CauseContext) -> list[Cause]:
    if row["old_status"] == row["new_status"]:
        return []
    # Named by status, so a source blocked in the new run does not read as a rejected row.
    if row["new_status"] == STATUS_SCORED:
        text = (
            f"scored in the new run, {row['old_status'] or 'absent'} in the old: "
            f"{row['old_reason'] or 'no reason'}"
        )
    else:
        text = f"{row['new_status']} in the new run: {row['new_reason'] or 'no reason given'}"
    return [Cause(KIND_STATUS, text, source=context.rows_text(row))]


def _input_causes(row: dict[str, Any], context: CauseContext) -> list[Cause]:
    """The row's own input cells that differ (columns present in both runs)."""
    old, new = row.get("old_inputs") or {}, row.get("new_inputs") or {}
    causes = []
    for column in new:
        if column in old and old[column] != new[column]:
            causes.append(
                Cause(
                    KIND_INPUT,
                    f"input {column!r} changed from {old[column] or '(empty)'!s} to "
                    f"{new[column] or '(empty)'!s}",
                    column,
                    context.rows_text(row),
                )
            )
    return causes


def _evidence_parts(evidence: str) -> tuple[str, str, str]:
    """A screening evidence text ``entity|list|date`` in its three parts."""
    entity, list_name, listed_on = [*evidence.split("|"), "", ""][:3]
    return entity, list_name, listed_on


def _balanced(text: str) -> bool:
    """Whether every parenthesis in ``text`` closes one opened before it, and all close."""
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def split_relation(entity: str) -> tuple[str, str, str] | None:
    """A family match's entity text ``"Member (relation of Parent)"`` as its three parts.

    Either name may hold parentheses ("China Traffic Construction USA (subsidiary of China
    Communications Construction Group (Limited))"): the split is the last `` (`` whose rest
    reads ``relation of Parent)`` with the parent's parentheses balanced. None for a plain name.
    """
    for start in reversed([i for i in range(len(entity)) if entity.startswith(" (", i)]):
        found = _RELATION.fullmatch(entity, start)
        if found and _balanced(found["parent"]) and _balanced(entity[:start]):
            return entity[:start], found["relation"], found["parent"]
    return None


def _listing_row(reference: ReferenceData, evidence: str) -> tuple[str, str]:
    """The listing behind a screening evidence text ``entity|list|date``: its id and source."""
    entity, list_name, _ = _evidence_parts(evidence)
    names = [entity]
    relation = split_relation(entity)
    if relation:
        member, _, parent = relation
        names += [parent, member]
    listings = reference.listed_entities
    for name in names:
        found = listings.filter(
            (pl.col("list_name") == list_name) & (pl.col("entity_name") == name)
        )
        if found.height:
            return f"{list_name}: {name}", found["source"][0] or ""
    return f"{list_name}: {entity}", ""


def _listing_causes(old: dict[str, Any], new: dict[str, Any], context: CauseContext) -> list[Cause]:
    causes = []
    for column, who, kept_by in (
        ("buyer_listing_entity", "buyer", "by the supplier's country"),
        ("supplier_listing_entity", "supplier", "by the buyer's own country"),
    ):
        before, after = old[column], new[column]
        if before == after:
            continue
        if after:
            entity, list_name, listed_on = _evidence_parts(after)
            identifier, source = _listing_row(context.new_reference, after)
            text = (
                f"{who} newly matches '{entity}' on the {list_name} kept {kept_by}, "
                f"listed {listed_on}"
            )
        else:
            entity, list_name, listed_on = _evidence_parts(before)
            identifier, source = _listing_row(context.old_reference, before)
            text = f"{who} no longer matches '{entity}' on the {list_name} (listed {listed_on})"
        causes.append(Cause(KIND_LISTING, text, identifier, source))
    return causes


def _reached_events(events: Iterable[_EventChange], features: dict[str, Any]) -> list[Cause]:
    reached = []
    for entry in events:
        reach = entry.reach(
            features["material_id"], features["supplier_country"], features["buyer_country"]
        )
        if reach is not None:
            reached.append((REACHES.index(reach), entry.row["event_id"], entry.cause(reach)))
    return [cause for _, _, cause in sorted(reached, key=lambda item: item[:2])]


def _basis(text: str | None) -> tuple[str, str, int] | None:
    if not text:
        return None
    dataset, stage, year = text.split("|")
    return dataset, stage, int(year)


def _production_causes(
    old: dict[str, Any], new: dict[str, Any], context: CauseContext
) -> list[Cause]:
    """Production editions published between the runs for the dataset and year the pair's
    shares come from; or, without one, a changed basis (the reference data changed)."""
    # The edition the new shares come from (the old one's when the new run has none): a
    # revision of a year the new run no longer reads changes nothing.
    basis = _basis(new["production_basis"] or old["production_basis"])
    bases = [basis] if basis else []
    causes = []
    production = context.new_reference.production
    for dataset, stage, year in bases:
        editions = production.filter(
            (pl.col("material") == dataset) & (pl.col("stage") == stage) & (pl.col("year") == year)
        )
        for published in sorted(set(editions["published"].to_list())):
            if not context.in_window(published):
                continue
            sources = editions.filter(pl.col("published") == published)["source"]
            causes.append(
                Cause(
                    KIND_PRODUCTION,
                    f"new production edition: {dataset} ({stage}) {year}, published {published}",
                    f"{dataset}|{stage}|{year}|{published}",
                    "; ".join(sorted(set(sources.drop_nulls().to_list()))),
                )
            )
    if not causes and old["production_basis"] != new["production_basis"]:
        causes.append(
            Cause(
                KIND_PRODUCTION,
                f"production basis changed from {old['production_basis'] or 'none'} to "
                f"{new['production_basis'] or 'none'}",
                new["production_basis"] or "",
            )
        )
    return causes


def _governance_causes(context: CauseContext) -> list[Cause]:
    low, high = context.window
    governance = context.new_reference.governance.filter(
        (pl.col("published") > low) & (pl.col("published") <= high)
    )
    causes = []
    for year, published in governance.select("year", "published").unique().sort("year").rows():
        sources = governance.filter(pl.col("year") == year)["source"].drop_nulls().unique()
        causes.append(
            Cause(
                KIND_GOVERNANCE,
                f"new governance edition: WGI {year}, published {published}",
                f"wgi|{year}",
                "; ".join(sorted(sources.to_list())),
            )
        )
    return causes


def _global_causes(context: CauseContext) -> list[Cause]:
    """Changes of the whole run: the mapping, the reference data and the model."""
    causes = []
    if context.old_mapping != context.new_mapping:
        causes.append(
            Cause(
                KIND_MAPPING,
                f"material mapping changed from {context.old_mapping or 'none'} to "
                f"{context.new_mapping or 'none'}",
                context.new_mapping or "",
            )
        )
    fingerprints = (context.old_fingerprint, context.new_fingerprint)
    if None not in fingerprints and fingerprints[0] != fingerprints[1]:
        causes.append(
            Cause(
                KIND_REFERENCE,
                f"reference data changed from {fingerprints[0]} to {fingerprints[1]}",
                fingerprints[1] or "",
            )
        )
    if context.old_model != context.new_model:
        causes.append(
            Cause(
                KIND_MODEL,
                f"model version changed from {context.old_model} to {context.new_model}",
                context.new_model,
            )
        )
    return causes
