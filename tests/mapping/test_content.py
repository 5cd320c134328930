"""What a purchase text says besides the material: purity, alloy codes, percentages and
hydrates, and no content share without a source."""

from __future__ import annotations

import pytest

from riskengine.mapping.matcher import MaterialMatcher


def test_a_proposal_gives_stage_purity_content_and_the_matched_words(
    matcher: MaterialMatcher,
) -> None:
    proposal = matcher.propose("Dysprosiumoxid Dy2O3 99,5%")
    assert proposal.stage == "oxide_compound"
    assert proposal.purity == "99.5%"
    assert (proposal.content_element, proposal.content_share) == ("Dy", 0.8713)
    assert "Dy2O3" in (proposal.content_basis or "")
    assert "formula Dy2O3" in proposal.reason
    assert matcher.propose("GERMANIUM TETRACHLORIDE GECL4 6N").purity == "6N"


def test_content_comes_from_an_alloy_code_a_percentage_or_a_hydrate(
    matcher: MaterialMatcher,
) -> None:
    assert matcher.propose("Ferrovanadium FeV80").content_share == 0.8
    assert matcher.propose("FeCr HC 65-70% Cr").content_share == 0.675
    heptahydrate = matcher.propose("Kobaltsulfat-Heptahydrat")
    assert heptahydrate.content_share == pytest.approx(0.2097, abs=1e-4)


def test_a_magnet_grade_names_the_magnet_but_no_uncited_content(
    matcher: MaterialMatcher,
) -> None:
    proposal = matcher.propose("Neodym-Magnet N52 NiCuNi 20x10x5")
    assert proposal.material_id == "ndfeb_magnet"
    assert "magnet grade N52" in proposal.reason
    assert proposal.content_share is None


def test_a_hydrate_written_with_a_digit_picks_the_formula_with_that_water(
    matcher: MaterialMatcher,
) -> None:
    assert matcher.propose("황산코발트 7수화물").content_share == pytest.approx(0.2097, abs=1e-4)
    assert matcher.propose("황산니켈 6수화물").content_share == pytest.approx(0.2233, abs=1e-4)
