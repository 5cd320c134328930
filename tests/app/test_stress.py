"""The stress job and command: the issue's target end to end, pairs before and after, bad input."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from riskengine.app.requests import InputFile, OutputFile, StressRequest
from riskengine.app.stress import stress_file
from riskengine.cli import EXIT_USAGE, app
from riskengine.config import Settings
from riskengine.errors import UserInputError

BAN = """name = "dy_ban"
[[measure]]
country = "CN"
materials = ["dysprosium oxide"]
targets = ["JP"]
kind = "ban"
start = 2026-12-01
days = 90
"""


@pytest.fixture
def settings(store_settings: Settings, tiny_model_registrar: Callable[[Settings], str]) -> Settings:
    from riskengine.models import tracking

    tracking.set_champion(store_settings, tiny_model_registrar(store_settings))
    return store_settings


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "bom.csv").write_text(
        "parent,component,quantity\nMotor,Rotor,1\nRotor,dysprosium oxide,0.05\nMotor,nickel,0.3\n"
    )
    (tmp_path / "sourcing.csv").write_text(
        "material,supplier,supplier_country,share\n"
        "Dy2O3,Baotou Example,China,1\nnickel,Morowali Example,Indonesia,1\n"
    )
    (tmp_path / "inventory.csv").write_text("material,days_of_cover\nDy2O3,60\nnickel,10\n")
    (tmp_path / "plan.csv").write_text("product,units_per_day,unit_value\nMotor,100,2.5\n")
    (tmp_path / "ban.toml").write_text(BAN)
    return tmp_path


def _stress(settings: Settings, folder: Path, **options: Any) -> None:
    request = StressRequest(
        bom=InputFile(str(folder / "bom.csv")),
        sourcing=InputFile(str(folder / "sourcing.csv")),
        inventory=InputFile(str(folder / "inventory.csv")),
        scenarios=(str(folder / "ban.toml"),),
        output=OutputFile(str(folder / "stress.csv")),
        pairs_path=str(folder / "pairs.csv"),
        plan=InputFile(str(folder / "plan.csv")),
        buyer_country="JP",
    )
    stress_file(settings, dataclasses.replace(request, **options))


def test_the_issue_target_end_to_end_with_the_pairs_before_and_after(
    settings: Settings, inputs: Path
) -> None:
    _stress(settings, inputs)
    products = pl.read_csv(inputs / "stress.csv", try_parse_dates=True)
    row = products.row(0, named=True)
    assert (row["scenario"], row["product"], row["status"]) == ("dy_ban", "Motor", "short")
    assert (row["first_short_date"], row["days_short"]) == (date(2027, 1, 30), 30)
    assert (row["binding_material"], row["binding_supplier"]) == (
        "Dysprosium oxide",
        "Baotou Example",
    )
    assert row["units_at_risk"] == pytest.approx(3000.0)
    assert row["value_at_risk"] == pytest.approx(7500.0)
    assert row["risk_score"] == pytest.approx(1.0)  # the banned pair's 1.0 rolled up
    pairs = pl.read_csv(inputs / "pairs.csv").sort("supplier")
    china, indonesia = pairs.row(0, named=True), pairs.row(1, named=True)
    assert china["restriction_state"] == "ban" and china["restriction_state_before"] != "ban"
    assert (china["risk_band"], china["risk_score"]) == ("critical", 1.0)
    assert "dy_ban" in china["drivers"]
    assert indonesia["risk_score"] == indonesia["risk_score_before"]
    assert set(pairs["as_of"]) == {"2026-12-01"}


def test_moving_the_start_moves_the_short_day(settings: Settings, inputs: Path) -> None:
    _stress(settings, inputs, start="2027-01-01", pairs_path=None)
    row = pl.read_csv(inputs / "stress.csv", try_parse_dates=True).row(0, named=True)
    assert (row["first_short_date"], row["days_short"]) == (date(2027, 3, 2), 30)


def test_aiming_the_measure_elsewhere_leaves_the_product_unaffected(
    settings: Settings, inputs: Path
) -> None:
    _stress(settings, inputs, target_country="United States")
    row = pl.read_csv(inputs / "stress.csv").row(0, named=True)
    assert (row["status"], row["days_short"]) == ("unaffected", 0)


def test_a_bad_inventory_writes_nothing(settings: Settings, inputs: Path) -> None:
    (inputs / "inventory.csv").write_text("material,days_of_cover\nDy2O3,sixty\n")
    with pytest.raises(UserInputError, match=r"inventory\.csv row 1: .*sixty") as raised:
        _stress(settings, inputs)
    assert str(raised.value).count("inventory.csv") == 1  # the file is named once
    assert not (inputs / "stress.csv").exists() and not (inputs / "pairs.csv").exists()


@pytest.mark.usefixtures("isolated_command")
def test_the_command_prints_the_first_products_to_stop_and_exits_2_on_an_unknown_scenario(
    settings: Settings, inputs: Path
) -> None:
    common = ["stress", "bom.csv", "--sourcing", "sourcing.csv", "--inventory", "inventory.csv"]
    common += ["--buyer-country", "JP", "-o", "out.csv"]
    result = CliRunner().invoke(app, [*common, "--scenario", "ban.toml"])
    assert result.exit_code == 0, result.output
    assert "first products to stop:" in result.stderr
    assert (
        "Motor: short from 2027-01-30 for 30 days (Dysprosium oxide from Baotou Example)"
        in result.stderr
    )
    (inputs / "out.csv").unlink()
    result = CliRunner().invoke(app, [*common, "--scenario", "heavy_curb"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert (
        "error: --scenario 'heavy_curb' is neither a file nor a shipped scenario" in result.stderr
    )
    assert not (inputs / "out.csv").exists()


@pytest.mark.usefixtures("isolated_command")
def test_a_list_with_supplier_sites_but_no_countries_is_stressed_through_the_sites_export(
    settings: Settings, inputs: Path
) -> None:
    # An Oracle-style list: the supplier site, no country; the sites export gives it.
    (inputs / "sourcing.csv").write_text(
        "material,supplier,Supplier Site,share\n"
        "Dy2O3,Baotou Example,Baotou Works,1\nnickel,Morowali Example,Morowali,1\n"
    )
    (inputs / "sites.csv").write_text(
        "VENDOR_NAME,VENDOR_SITE_CODE,COUNTRY\n"
        "Baotou Example,Baotou Works,CN\nMorowali Example,Morowali,ID\n"
    )
    result = CliRunner().invoke(
        app,
        ["stress", "bom.csv", "--sourcing", "sourcing.csv", "--inventory", "inventory.csv",
         "--supplier-sites", "sites.csv", "--buyer-country", "JP", "--scenario", "ban.toml",
         "-o", "out.csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Motor: short from 2027-01-30 for 30 days" in result.stderr
