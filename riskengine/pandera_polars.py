"""pandera's polars API; in a ``riskengine`` command, imported as a polars-only installation
imports it.

``import pandera`` imports pandas (0.35 s here) and, where they are installed, hypothesis (0.1
s) and pyspark, for its pandas API, data synthesis and Spark backends, none of which
riskengine uses. pandera supports installations without pandas: when importing pandas raises
``ModuleNotFoundError`` it sets up its polars API alone. Those imports were about a fifth of a
one-row ``riskengine score``, so in a command (:func:`riskengine.config.start_as_command`)
pandera is imported with the three hidden from the importing thread, unless one of them
(or pandera) is already imported. A refused lookup leaves nothing in ``sys.modules``, so all
three import normally later (training, the MLflow flavour, Spark); pandera's own pandas API
(``pandera.pandas``) does not work in such a process, and a command never uses it. Imported as
a library, riskengine leaves pandera's import alone.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING

from riskengine.config import started_as_command

_NOT_NEEDED_BY_PANDERA_POLARS = ("pandas", "hypothesis", "pyspark")


class _Hidden(importlib.abc.MetaPathFinder):
    """Answer "no such module" for the packages pandera can do without, to the thread that
    imports pandera only: another thread importing pandas meanwhile (the web app's) gets it."""

    def __init__(self) -> None:
        self._thread = threading.get_ident()

    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None) -> None:
        if (
            threading.get_ident() == self._thread
            and name.split(".", 1)[0] in _NOT_NEEDED_BY_PANDERA_POLARS
        ):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _import_pandera_polars() -> ModuleType:
    already = "pandera" in sys.modules or any(
        package in sys.modules for package in _NOT_NEEDED_BY_PANDERA_POLARS
    )
    if started_as_command() and not already:
        try:
            return _import_hidden()
        except ImportError:
            # A pandera that cannot do without them after all: forget the half-imported
            # modules and import it as usual, rather than fail with "no module named pandas".
            for name in [name for name in sys.modules if name.split(".", 1)[0] == "pandera"]:
                del sys.modules[name]
    import pandera.polars

    return pandera.polars


def _import_hidden() -> ModuleType:
    hidden = _Hidden()
    sys.meta_path.insert(0, hidden)
    try:
        import pandera.polars

        # The first validation would otherwise look for hypothesis and pandas again, once
        # they are no longer hidden; both lookups are made here and remembered by pandera.
        import pandera.strategies.base_strategies
        from pandera.backends import register_checks

        remember_pandas_absent = getattr(register_checks, "_load_get_backend_types_from_mro", None)
        if remember_pandas_absent is not None:
            remember_pandas_absent()
    finally:
        sys.meta_path.remove(hidden)
    return pandera.polars


if TYPE_CHECKING:
    import pandera.polars as pa
else:
    pa = _import_pandera_polars()

from pandera.api.polars.types import PolarsData  # noqa: E402
from pandera.errors import SchemaError, SchemaErrors  # noqa: E402

__all__ = ["PolarsData", "SchemaError", "SchemaErrors", "pa"]
