"""Chemical formulas: element counts and mass fractions from the IUPAC atomic weights."""

from __future__ import annotations

import pytest

from riskengine.mapping.formulas import mass_fraction, parse_formula


def test_formulas_parse_with_groups_and_hydrates() -> None:
    assert parse_formula("Dy2O3") == {"Dy": 2.0, "O": 3.0}
    assert parse_formula("Co(OH)2") == {"Co": 1.0, "O": 2.0, "H": 2.0}
    assert parse_formula("NiSO4·6H2O") == {"Ni": 1.0, "S": 1.0, "O": 10.0, "H": 12.0}
    assert parse_formula("Xy2O3") is None
    assert parse_formula("OXID") is None


def test_mass_fractions_follow_the_standard_atomic_weights() -> None:
    assert mass_fraction("Dy2O3", "Dy") == pytest.approx(0.8713, abs=1e-4)
    assert mass_fraction("GeCl4", "Ge") == pytest.approx(0.3387, abs=1e-4)
    assert mass_fraction("NiSO4·6H2O", "Ni") == pytest.approx(0.2233, abs=1e-4)
    assert mass_fraction("Dy2O3", "Tb") is None
