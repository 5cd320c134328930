"""Count the listed names of ``listed_entities.csv`` that have a corporate family.

    python -m tools.listing_families [riskengine/reference/data/listed_entities.csv]

A listed name (the ``entity_name`` of a row on any list but the family link list) has a family
when a row of that name names a parent, or when any row (link rows included) names it as its
parent. A link row's own name is never counted: a link row is not a listing. The figures are
the ones the data README gives under "Families". A development tool, not part of the package.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from riskengine.reference.contracts import FAMILY_LINK_LIST

DEFAULT_PATH = Path("riskengine/reference/data/listed_entities.csv")


@dataclass(frozen=True)
class FamilyCounts:
    """How many listed names have a family, and how."""

    listed_names: int
    with_family: int
    naming_a_parent: int
    named_as_parent: int
    both: int
    links: int

    def text(self) -> str:
        """The counts as one line, in the data README's words."""
        return (
            f"listed names with a family: {self.with_family} of {self.listed_names} "
            f"(name a parent {self.naming_a_parent}, named as parent {self.named_as_parent}, "
            f"both {self.both}); member-parent links {self.links}"
        )


def family_counts(entities: pl.DataFrame) -> FamilyCounts:
    """Count the listed names with a family in a ``listed_entities`` frame.

    Parameters
    ----------
    entities
        Rows with at least ``list_name``, ``entity_name`` and ``parent_entity``.

    Returns
    -------
    FamilyCounts
        Distinct listed names, those with a family, how they have it, and the distinct
        member-parent pairs (link rows included).
    """
    listed = set(entities.filter(pl.col("list_name") != FAMILY_LINK_LIST)["entity_name"])
    members = entities.filter(pl.col("parent_entity").is_not_null())
    naming = set(members["entity_name"]) & listed
    named = set(members["parent_entity"]) & listed
    pairs = members.select("entity_name", "parent_entity").unique().height
    return FamilyCounts(
        listed_names=len(listed),
        with_family=len(naming | named),
        naming_a_parent=len(naming),
        named_as_parent=len(named),
        both=len(naming & named),
        links=pairs,
    )


def main(argv: list[str] | None = None) -> int:
    """Print the counts for the file given (the shipped table by default)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    print(family_counts(pl.read_csv(path, infer_schema_length=0)).text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
