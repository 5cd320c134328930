"""The development tool that counts listed names with a family (tools/listing_families)."""

from __future__ import annotations

import polars as pl

from riskengine.reference.contracts import FAMILY_LINK_LIST
from tools.listing_families import family_counts


def test_a_name_has_a_family_by_naming_or_being_named_and_link_rows_do_not_count() -> None:
    entities = pl.DataFrame(
        {
            "list_name": ["UEL", "UEL", "UEL", "BIS", "UEL", FAMILY_LINK_LIST],
            "entity_name": ["Parent", "Member", "Loner", "Member", "Orphan", "Link Holdings"],
            "parent_entity": [None, "Parent", None, "Parent", "Link Holdings", None],
        }
    )
    counts = family_counts(entities)
    assert (counts.listed_names, counts.with_family) == (4, 3)
    assert (counts.naming_a_parent, counts.named_as_parent, counts.both) == (2, 1, 0)
    assert counts.links == 2
    assert counts.text().startswith("listed names with a family: 3 of 4")
