"""An overlay directory: a team's own reference rows on top of the shipped data.

An overlay holds only the rows a team added or changed, in files named and shaped like the
shipped tables (any table may be absent), and a manifest, :data:`MANIFEST_FILE`, that marks the
directory as an overlay and lists what was imported into it (from which file, its sha256, when,
and what it added and changed). :func:`riskengine.reference.loader.load_reference` reads the
shipped tables, puts the overlay's rows on top (a row with the key of a shipped row replaces
it; the others are added) and validates the merged tables against the same contracts.

``riskengine reference import`` writes overlays (:mod:`riskengine.reference.importing`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from riskengine.errors import ReferenceDataError
from riskengine.io import write_text

MANIFEST_FILE = "overlay.json"
MANIFEST_FORMAT = "riskengine-reference-overlay/1"


def is_overlay(directory: Path) -> bool:
    """Whether ``directory`` is an overlay (it holds the overlay manifest)."""
    return (directory / MANIFEST_FILE).is_file()


def read_manifest(directory: Path) -> dict[str, Any]:
    """The overlay's manifest (an empty one when the directory has none yet).

    Raises
    ------
    ReferenceDataError
        If the manifest is not the JSON object this version writes.
    """
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return {"format": MANIFEST_FORMAT, "base": "shipped", "imports": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReferenceDataError(f"{path}: not a readable overlay manifest: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ReferenceDataError(
            f"{path}: not an overlay manifest of this version (format {MANIFEST_FORMAT!r})"
        )
    return manifest


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically, keys sorted so equal manifests have equal bytes."""
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_text(text, str(directory / MANIFEST_FILE))
