"""The README's feature table is the registry's, and its first screen shows the two commands."""

from __future__ import annotations

import re
from pathlib import Path

from riskengine.render import feature_catalog_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_feature_table_is_generated_from_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    table = re.search(r"<!-- features:start -->\n(.*)\n<!-- features:end -->", text, re.S)
    assert table is not None
    assert table.group(1) == feature_catalog_markdown(), (
        "regenerate with: riskengine features list --markdown"
    )


def test_first_screen_gives_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
