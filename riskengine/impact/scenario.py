"""Stress scenarios: hypothetical export measures read from TOML, resolved through the catalog,
and turned into dated policy events that the features, model and hard rules read unchanged.

A scenario file holds one ``[[measure]]`` table per measure (README, "Stress scenarios")::

    [[measure]]
    country = "CN"                      # exporting country, any spelling the CLI accepts
    materials = ["dysprosium oxide"]    # catalog names or commodities ("heavy rare earths")
    targets = ["JP"]                    # omitted = all destinations
    kind = "ban"                        # ban | licensing | quota
    start = 2026-12-01
    days = 90

The library of scenarios shipped with riskengine is in ``riskengine/impact/scenarios/``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from importlib import resources
from typing import Any

import polars as pl

from riskengine.catalog import STAGES, load_catalog, normalise_country, normalise_material_text
from riskengine.errors import UserInputError
from riskengine.reference.loader import ReferenceData

KINDS = ("ban", "quota", "licensing")
#: The reference data's measure for each kind (``policy_events.csv``, column ``measure``).
POLICY_MEASURES = {"ban": "export_ban", "quota": "export_quota", "licensing": "export_licensing"}
END_USES = ("military",)
_TOP_KEYS = frozenset(
    {"name", "title", "description", "sources", "events", "assumptions", "measure"}
)
_MEASURE_KEYS = frozenset(
    {
        "country",
        "materials",
        "targets",
        "kind",
        "start",
        "days",
        "approval_rate",
        "delay_days",
        "share",
        "end_use",
        "based_on",
        "note",
        "stages",
    }
)
_LIBRARY_PACKAGE = "riskengine.impact"
_LIBRARY_DIRECTORY = "scenarios"


@dataclass(frozen=True)
class Coverage:
    """One material entry of a measure as the policy events write it: a catalog tag
    (commodity or policy tag) and the stages it is narrowed to (empty: all)."""

    written: str
    tag: str
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measure:
    """One hypothetical measure; ``number`` is its 1-based place in the file.

    Of the supply from ``country_iso3`` of a covered material to a target, what keeps flowing
    each day from ``start`` for ``days`` days: nothing under a ban; ``share`` under a quota;
    under licensing nothing for ``delay_days``, then ``approval_rate``.
    """

    number: int
    country_iso3: str
    coverage: tuple[Coverage, ...]
    targets: tuple[str, ...]
    kind: str
    start: date
    days: int
    approval_rate: float = 0.0
    delay_days: int = 0
    share: float = 0.0
    end_use: str | None = None
    based_on: tuple[str, ...] = ()
    note: str | None = None

    @property
    def end(self) -> date:
        """The first day after the measure: deliveries resume on it."""
        return self.start + timedelta(days=self.days)

    def words(self) -> str:
        """The measure in a few words ("ban on rare earths from CHN to JPN, 90 days")."""
        materials = ", ".join(entry.written for entry in self.coverage)
        to = f" to {', '.join(self.targets)}" if self.targets else ""
        user = f" ({self.end_use} end users)" if self.end_use else ""
        terms = {
            "ban": "",
            "quota": f" ({self.share:.0%} keeps flowing)",
            "licensing": f" ({self.approval_rate:.0%} approved after {self.delay_days} days)",
        }[self.kind]
        return (
            f"{self.kind}{terms} on {materials} from {self.country_iso3}{to}{user}, "
            f"{self.start} for {self.days} days"
        )


@dataclass(frozen=True)
class Scenario:
    """A named set of measures with the sources it rests on."""

    name: str
    title: str
    origin: str
    measures: tuple[Measure, ...]
    sources: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    assumptions: str | None = None

    @property
    def start(self) -> date:
        """The day the first measure starts (day 0 of the stress timeline)."""
        return min(measure.start for measure in self.measures)

    @property
    def end(self) -> date:
        """The day after the last measure ends."""
        return max(measure.end for measure in self.measures)

    @property
    def based_on(self) -> tuple[str, ...]:
        """The reference events the measures restate (left out of the scores before)."""
        return tuple(sorted({event for measure in self.measures for event in measure.based_on}))


def library_names() -> tuple[str, ...]:
    """The names of the scenarios shipped with riskengine."""
    directory = resources.files(_LIBRARY_PACKAGE).joinpath(_LIBRARY_DIRECTORY)
    return tuple(
        sorted(
            entry.name[: -len(".toml")]
            for entry in directory.iterdir()
            if entry.name.endswith(".toml")
        )
    )


def library_text(name: str) -> str:
    """The TOML text of a shipped scenario.

    Raises
    ------
    UserInputError
        When no shipped scenario has this name (the names are listed).
    """
    if name not in library_names():
        raise UserInputError(
            f"--scenario {name!r} is neither a file nor a shipped scenario; shipped: "
            + ", ".join(library_names())
        )
    directory = resources.files(_LIBRARY_PACKAGE).joinpath(_LIBRARY_DIRECTORY)
    return directory.joinpath(f"{name}.toml").read_text(encoding="utf-8")


def parse_scenario(text: str, *, origin: str, name: str) -> Scenario:
    """Read a scenario from TOML text; every problem names ``origin``, the measure and the key.

    Raises
    ------
    UserInputError
        Invalid TOML, an unknown or missing key, an unknown country, material or kind, or a
        number out of range.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserInputError(f"{origin}: not valid TOML: {error}") from None
    _check_keys(document, _TOP_KEYS, origin)
    tables = document.get("measure")
    if not isinstance(tables, list) or not tables:
        raise UserInputError(f"{origin}: no [[measure]] table; a scenario needs at least one")
    measures = tuple(
        _measure(table, number, origin) for number, table in enumerate(tables, start=1)
    )
    return Scenario(
        name=str(document.get("name") or name),
        title=str(document.get("title") or document.get("name") or name),
        origin=origin,
        measures=measures,
        sources=_texts(document.get("sources", []), origin, "sources"),
        events=_texts(document.get("events", []), origin, "events"),
        assumptions=str(document["assumptions"]) if "assumptions" in document else None,
    )


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UserInputError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
        )


def _texts(value: Any, origin: str, key: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(item, str) for item in values):
        raise UserInputError(f"{origin}: {key} must be a text or a list of texts")
    return tuple(item.strip() for item in values if item.strip())


def _measure(table: Any, number: int, origin: str) -> Measure:
    where = f"{origin}: measure {number}"
    if not isinstance(table, dict):
        raise UserInputError(f"{where}: must be a [[measure]] table")
    _check_keys(table, _MEASURE_KEYS, where)
    missing = [key for key in ("country", "materials", "kind", "start", "days") if key not in table]
    if missing:
        raise UserInputError(f"{where}: missing key(s) {', '.join(missing)}")
    kind = str(table["kind"]).strip().casefold()
    if kind not in KINDS:
        raise UserInputError(f"{where}: kind {table['kind']!r} is not one of {', '.join(KINDS)}")
    end_use = table.get("end_use")
    if end_use is not None and end_use not in END_USES:
        raise UserInputError(f"{where}: end_use {end_use!r} is not one of {', '.join(END_USES)}")
    try:
        country = normalise_country(str(table["country"]))
        targets = tuple(
            dict.fromkeys(
                normalise_country(text)
                for text in _texts(table.get("targets", []), where, "targets")
            )
        )
    except UserInputError as error:
        raise UserInputError(f"{where}: {error}") from None
    materials = _texts(table["materials"], where, "materials")
    if not materials:
        raise UserInputError(f"{where}: materials is empty")
    stages = _texts(table.get("stages", []), where, "stages")
    unknown_stages = sorted(set(stages) - set(STAGES))
    if unknown_stages:
        raise UserInputError(
            f"{where}: unknown stage(s) {', '.join(unknown_stages)}; known: {', '.join(STAGES)}"
        )
    # A commodity entry takes the measure's stages; a material keeps its own stage.
    coverage = tuple(
        entry if entry.stages else replace(entry, stages=stages)
        for entry in (resolve_coverage(text, where) for text in materials)
    )
    if kind == "licensing" and "approval_rate" not in table:
        raise UserInputError(f"{where}: licensing needs approval_rate (0-1) and delay_days")
    if kind == "quota" and "share" not in table:
        raise UserInputError(f"{where}: a quota needs share, the part that keeps flowing (0-1)")
    return Measure(
        number=number,
        country_iso3=country,
        coverage=coverage,
        targets=targets,
        kind=kind,
        start=_date(table["start"], where),
        days=_whole(table["days"], where, "days", minimum=1),
        approval_rate=_fraction(table.get("approval_rate", 0.0), where, "approval_rate"),
        delay_days=_whole(table.get("delay_days", 0), where, "delay_days", minimum=0),
        share=_fraction(table.get("share", 0.0), where, "share"),
        end_use=end_use,
        based_on=_texts(table.get("based_on", []), where, "based_on"),
        note=str(table["note"]) if "note" in table else None,
    )


def resolve_coverage(text: str, where: str = "scenario") -> Coverage:
    """A material entry as a catalog tag: a commodity or policy tag by its id written with
    spaces or underscores ("heavy rare earths", "rare_earths"), else a catalog material
    ("Dy2O3"), which stands for its primary commodity at its own stage.

    Raises
    ------
    UserInputError
        When neither resolves (with the closest material names).
    """
    catalog = load_catalog()
    tags = {normalise_material_text(tag): tag for tag in catalog.known_tags()}
    tag = tags.get(normalise_material_text(text))
    if tag is not None:
        return Coverage(text, tag)
    try:
        material = catalog.resolve_material(text)
    except UserInputError as error:
        raise UserInputError(
            f"{where}: materials: {error} (or a commodity such as rare_earths)"
        ) from None
    return Coverage(text, material.primary_commodity, (material.stage,))


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise UserInputError(f"{where}: start {value!r} is not a date (YYYY-MM-DD)") from None


def _whole(value: Any, where: str, key: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserInputError(
            f"{where}: {key} must be a whole number of at least {minimum}, not {value!r}"
        )
    return value


def _fraction(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise UserInputError(f"{where}: {key} must be a number from 0 to 1, not {value!r}")
    return float(value)


def retargeted(scenario: Scenario, target_iso3: str) -> Scenario:
    """The scenario with every measure aimed at one country (``--target-country``)."""
    measures = tuple(replace(measure, targets=(target_iso3,)) for measure in scenario.measures)
    return replace(scenario, measures=measures)


def moved(scenario: Scenario, start: date) -> Scenario:
    """The scenario shifted so that its first measure starts on ``start`` (``--start``)."""
    shift = start - scenario.start
    measures = tuple(replace(measure, start=measure.start + shift) for measure in scenario.measures)
    return replace(scenario, measures=measures)


def event_id(scenario: Scenario, measure: Measure, entry: int, target: int) -> str:
    """The id of one injected event: scenario, measure, material entry and target."""
    return f"{scenario.name}#{measure.number}.{entry}.{target}"


def scenario_events(scenario: Scenario, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The scenario's measures as rows of ``policy_events.csv`` (``schema``): one per material
    entry and target country, announced and effective on the start, ended on the day
    deliveries resume, scope ``military_end_use`` for a measure on military end users."""
    rows: list[dict[str, Any]] = []
    for measure in scenario.measures:
        targets: Sequence[str | None] = measure.targets or (None,)
        for entry_number, entry in enumerate(measure.coverage, start=1):
            for target_number, target in enumerate(targets, start=1):
                based_on = f"; restates {', '.join(measure.based_on)}" if measure.based_on else ""
                rows.append(
                    {
                        "event_id": event_id(scenario, measure, entry_number, target_number),
                        "country_iso3": measure.country_iso3,
                        "measure": POLICY_MEASURES[measure.kind],
                        "materials": entry.tag,
                        "target_country_iso3": target,
                        "announced": measure.start,
                        "effective": measure.start,
                        "ended": measure.end,
                        "stages": ";".join(entry.stages) or None,
                        "scope": "military_end_use" if measure.end_use else "flow",
                        "description": f"Stress scenario {scenario.name}: {measure.words()}",
                        "source": f"stress scenario {scenario.origin}{based_on}",
                        "date_precision": "day",
                        "superseded_by": None,
                        "confidence": None,
                    }
                )
    return (
        pl.DataFrame(rows, schema=dict(schema), orient="row")
        if rows
        else pl.DataFrame(schema=dict(schema))
    )


def scenario_reference(
    reference: ReferenceData, scenario: Scenario, *, applied: bool
) -> ReferenceData:
    """The reference data without the events the scenario restates, and with its measures as
    events when ``applied`` (in memory; nothing is written).

    Raises
    ------
    UserInputError
        When a measure's ``based_on`` names an event the reference data lacks.
    """
    events = reference.policy_events
    unknown = sorted(set(scenario.based_on) - set(events["event_id"].to_list()))
    if unknown:
        raise UserInputError(
            f"{scenario.origin}: based_on names event(s) {', '.join(unknown)} that the reference "
            f"data ({reference.directory}) does not hold"
        )
    kept = events.filter(~pl.col("event_id").is_in(list(scenario.based_on)))
    if applied:
        kept = pl.concat([kept, scenario_events(scenario, events.schema)])
    state = "with" if applied else "before"
    return replace(
        reference,
        policy_events=kept,
        fingerprint=f"{reference.fingerprint}+{scenario.name}:{state}",
    )
