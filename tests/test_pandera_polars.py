"""pandera imported without pandas, hypothesis or pyspark in a command, and working the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import polars as pl
import pytest

from riskengine.pandera_polars import SchemaErrors, _Hidden, pa


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (this one has pandas imported) and return stdout."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def test_a_command_validates_without_importing_pandas_or_hypothesis() -> None:
    output = run_fresh(
        """
        import sys
        from riskengine.config import start_as_command

        start_as_command()
        import polars as pl
        from riskengine.pandera_polars import SchemaErrors, pa

        schema = pa.DataFrameSchema({"share": pa.Column(pl.Float64, pa.Check.in_range(0, 1))})
        schema.validate(pl.DataFrame({"share": [0.5]}))
        try:
            schema.validate(pl.DataFrame({"share": [1.5]}), lazy=True)
        except SchemaErrors as error:
            print("refused", error.failure_cases["failure_case"].to_list())
        print(sorted({name.split(".")[0] for name in sys.modules} & {"pandas", "hypothesis"}))
        print(len([finder for finder in sys.meta_path if type(finder).__name__ == "_Hidden"]))
        import pandas
        import hypothesis

        print("importable", pandas.__name__, hypothesis.__name__)
        """
    )
    assert output.splitlines() == [
        "refused ['1.5']",
        "[]",
        "0",
        "importable pandas hypothesis",
    ]


def test_as_a_library_riskengine_leaves_pandera_s_pandas_api_working() -> None:
    output = run_fresh(
        """
        import riskengine.pandera_polars
        import pandas as pd
        import pandera.pandas as pandera_pandas

        schema = pandera_pandas.DataFrameSchema({"share": pandera_pandas.Column(float)})
        print(len(schema.validate(pd.DataFrame({"share": [0.5]}))))
        """
    )
    assert output == "1"


def test_only_the_importing_thread_is_told_the_packages_are_missing() -> None:
    hidden = _Hidden()
    with pytest.raises(ModuleNotFoundError, match="pandas"):
        hidden.find_spec("pandas.core")
    answers: list[object] = []
    other = threading.Thread(target=lambda: answers.append(hidden.find_spec("pandas")))
    other.start()
    other.join()
    assert answers == [None]
    assert hidden.find_spec("polars") is None


def test_in_a_process_with_pandas_the_same_contract_refuses_the_same_rows() -> None:
    assert "pandas" in sys.modules  # imported before riskengine by this test session
    schema = pa.DataFrameSchema({"share": pa.Column(pl.Float64, pa.Check.in_range(0, 1))})
    with pytest.raises(SchemaErrors) as refused:
        schema.validate(pl.DataFrame({"share": [0.2, 1.5]}), lazy=True)
    assert refused.value.failure_cases["index"].to_list() == [1]
