"""Products under a scenario, from a BOM exploded by score_bom over a literal scored list."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from riskengine.bom import score_bom
from riskengine.errors import UserInputError
from riskengine.impact.scenario import parse_scenario
from riskengine.impact.stress import Inventory, Plan, read_inventory, read_plan, stress_products

BAN = """
[[measure]]
country = "China"
materials = ["heavy rare earths"]
targets = ["JP"]
kind = "ban"
start = 2026-12-01
days = {days}
"""


def _scored(rows: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    """A scored sourcing list: (material_id, supplier, supplier country, share), buyer JPN."""
    return pl.DataFrame(
        {
            "material_id": [row[0] for row in rows],
            "supplier": [row[1] for row in rows],
            "supplier_country_iso3": [row[2] for row in rows],
            "buyer_country_iso3": ["JPN"] * len(rows),
            "share": [row[3] for row in rows],
            "risk_score": [0.5] * len(rows),
            "status": ["scored"] * len(rows),
            "reason": [None] * len(rows),
        },
        schema_overrides={"reason": pl.String},
    )


TWO_LEVEL = pl.DataFrame(
    {
        "parent": ["Motor", "Rotor", "Motor"],
        "component": ["Rotor", "dysprosium oxide", "nickel"],
        "quantity": ["1", "0.05", "0.3"],
    }
)


def _stress(
    scored: pl.DataFrame, inventory: Inventory, *, days: int = 90, plan: Plan | None = None
) -> dict[str, object]:
    result = score_bom(TWO_LEVEL, scored, source="bom.csv")
    scenario = parse_scenario(BAN.format(days=days), origin="ban.toml", name="ban")
    table = stress_products(result.lines, result.products, scenario, inventory, plan)
    assert table["product"].to_list() == ["Motor"]
    return table.row(0, named=True)


def test_the_issue_target_one_input_all_from_the_banned_country() -> None:
    scored = _scored(
        [("dysprosium_oxide", "Baotou", "CHN", 1.0), ("nickel_metal", "Morowali", "IDN", 1.0)]
    )
    row = _stress(scored, Inventory({"dysprosium_oxide": 60.0}, {}))
    assert row["status"] == "short"
    assert row["first_short_date"] == date(2027, 1, 30)
    assert row["days_short"] == 30
    assert row["last_short_date"] == date(2027, 2, 28)
    assert row["short_periods"] == "2027-01-30/2027-02-28"
    assert (row["binding_material_id"], row["binding_supplier"]) == ("dysprosium_oxide", "Baotou")
    assert row["binding_supplier_country_iso3"] == "CHN"
    assert row["scenario_end"] == date(2027, 3, 1)


def test_other_countries_shares_keep_flowing_and_are_named() -> None:
    scored = _scored(
        [
            ("dysprosium_oxide", "Baotou", "CHN", 0.8),
            ("dysprosium_oxide", "Hanoi", "VNM", 0.2),
            ("nickel_metal", "Morowali", "IDN", 1.0),
        ]
    )
    plan = Plan({"Motor": 100.0}, {"Motor": 2.0})
    row = _stress(scored, Inventory({"dysprosium_oxide": 60.0}, {}), plan=plan)
    assert row["first_short_date"] == date(2027, 2, 14)  # 60 / 0.8 = 75 days after 2026-12-01
    assert row["days_short"] == 15
    assert row["units_at_risk"] == pytest.approx(100 * 15 * 0.8)
    assert row["value_at_risk"] == pytest.approx(2 * 100 * 15 * 0.8)
    assert (
        row["still_flowing"]
        == "Dysprosium oxide: 20% flows (Vietnam 20%); 1 other input(s) unaffected"
    )


def test_no_inventory_row_means_no_cover_and_says_so() -> None:
    scored = _scored(
        [("dysprosium_oxide", "Baotou", "CHN", 1.0), ("nickel_metal", "M", "IDN", 1.0)]
    )
    row = _stress(scored, Inventory({}, {}), days=10)
    assert (row["first_short_date"], row["days_short"]) == (date(2026, 12, 1), 10)
    assert "no inventory row for Dysprosium oxide" in row["reason"]


def test_a_product_the_measure_does_not_reach_is_unaffected() -> None:
    scored = _scored([("dysprosium_oxide", "Hanoi", "VNM", 1.0), ("nickel_metal", "M", "IDN", 1.0)])
    row = _stress(scored, Inventory({}, {}))
    assert row["status"] == "unaffected"
    assert row["first_short_date"] is None and row["days_short"] == 0


def test_the_inventory_reads_bom_names_catalog_names_and_stock_over_use() -> None:
    frame = pl.DataFrame(
        {
            "Material": ["Rotor magnet X", "Dy2O3"],
            "stock": ["10", "1.000,5"],
            "daily_use": ["2", "10"],
            "lead_time": [None, "30"],
        }
    )
    inventory = read_inventory(
        frame, source="inventory.csv", leaf_materials={"Rotor magnet X": "ndfeb_magnet"}
    )
    assert inventory.days_of_cover == {"ndfeb_magnet": 5.0, "dysprosium_oxide": 100.05}
    assert inventory.lead_time_days == {"dysprosium_oxide": 30.0}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            {"material": ["unobtainium"], "days_of_cover": ["5"]},
            "inventory.csv row 1: unknown material",
        ),
        (
            {"material": ["Dy2O3", "dysprosium oxide"], "days_of_cover": ["5", "6"]},
            "row 2: Dysprosium oxide is also on row 1",
        ),
        ({"material": ["Dy2O3"], "days_of_cover": ["-5"]}, "row 1: days_of_cover -5 is negative"),
        ({"material": ["Dy2O3"], "days_of_cover": ["#N/A"]}, "row 1: .*#N/A"),
        ({"material": ["Dy2O3"], "stock": ["5"]}, "missing column days_of_cover"),
        ({"material": ["Dy2O3"], "days_of_cover": [None]}, "row 1: no days_of_cover"),
    ],
)
def test_a_bad_inventory_names_the_file_and_row(frame: dict, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        read_inventory(
            pl.DataFrame(frame, schema_overrides=dict.fromkeys(frame, pl.String)),
            source="inventory.csv",
            leaf_materials={},
        )


def test_the_plan_refuses_a_product_given_twice() -> None:
    frame = pl.DataFrame({"product": ["A", "A"], "units_per_day": ["1", "2"]})
    with pytest.raises(UserInputError, match=r"plan\.csv row 2: product 'A' is given twice"):
        read_plan(frame, source="plan.csv")


MILITARY = """
[[measure]]
country = "CN"
materials = ["dual_use_items"]
targets = ["JP"]
end_use = "military"
kind = "ban"
start = 2026-12-01
days = 30
"""


@pytest.mark.parametrize(("military", "status"), [(False, "unaffected"), (True, "short")])
def test_a_measure_on_military_end_users_hits_only_a_team_that_supplies_them(
    military: bool, status: str
) -> None:
    scored = _scored(
        [("dysprosium_oxide", "Baotou", "CHN", 1.0), ("nickel_metal", "M", "IDN", 1.0)]
    )
    result = score_bom(TWO_LEVEL, scored, source="bom.csv")
    scenario = parse_scenario(MILITARY, origin="m.toml", name="m")
    table = stress_products(
        result.lines, result.products, scenario, Inventory({}, {}), military=military
    )
    assert table["status"].to_list() == [status]


def test_the_strictest_measure_in_force_wins_and_a_quota_lets_its_share_through() -> None:
    text = BAN.format(days=10).replace('"ban"', '"quota"\nshare = 0.5') + BAN.format(days=5)
    scored = _scored(
        [("dysprosium_oxide", "Baotou", "CHN", 1.0), ("nickel_metal", "M", "IDN", 1.0)]
    )
    result = score_bom(TWO_LEVEL, scored, source="bom.csv")
    scenario = parse_scenario(text, origin="q.toml", name="q")
    row = stress_products(result.lines, result.products, scenario, Inventory({}, {})).row(
        0, named=True
    )
    # Days 0-4 banned (1 day of use lost each), days 5-9 under the quota (half a day each).
    assert (row["days_short"], row["days_lost"]) == (10, pytest.approx(7.5))


def test_a_gap_between_measures_gives_two_short_periods() -> None:
    scored = _scored(
        [("dysprosium_oxide", "Baotou", "CHN", 1.0), ("nickel_metal", "Morowali", "IDN", 1.0)]
    )
    two_bans = BAN.format(days=10) + BAN.format(days=5).replace("2026-12-01", "2026-12-21")
    result = score_bom(TWO_LEVEL, scored, source="bom.csv")
    scenario = parse_scenario(two_bans, origin="bans.toml", name="bans")
    table = stress_products(
        result.lines, result.products, scenario, Inventory({"dysprosium_oxide": 4.0}, {}), None
    )
    row = table.row(0, named=True)
    # 4 days of cover absorb days 0-3 of the first ban; the second starts with none left.
    assert row["short_periods"] == "2026-12-05/2026-12-10; 2026-12-21/2026-12-25"
    assert row["days_short"] == 11
    assert (row["first_short_date"], row["last_short_date"]) == (
        date(2026, 12, 5),
        date(2026, 12, 25),
    )
