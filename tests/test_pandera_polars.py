"""pandera imported without pandas, hypothesis or pyspark, and working the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import polars as pl
import pytest

from riskengine.pandera_polars import SchemaErrors, pa


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (this one has pandas imported) and return stdout."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def test_a_fresh_process_validates_without_importing_pandas_or_hypothesis() -> None:
    output = run_fresh(
        """
        import sys
        import polars as pl
        from riskengine.pandera_polars import SchemaErrors, pa

        schema = pa.DataFrameSchema({"share": pa.Column(pl.Float64, pa.Check.in_range(0, 1))})
        schema.validate(pl.DataFrame({"share": [0.5]}))
        try:
            schema.validate(pl.DataFrame({"share": [1.5]}), lazy=True)
        except SchemaErrors as error:
            print("refused", error.failure_cases["failure_case"].to_list())
        print(sorted({name.split(".")[0] for name in sys.modules} & {"pandas", "hypothesis"}))
        import pandas

        print("pandas importable", pandas.__name__)
        """
    )
    assert output.splitlines() == ["refused ['1.5']", "[]", "pandas importable pandas"]


def test_the_hidden_packages_stay_hidden_only_while_pandera_imports() -> None:
    output = run_fresh(
        """
        import sys
        import riskengine.pandera_polars

        print(len([finder for finder in sys.meta_path if type(finder).__name__ == "_Hidden"]))
        import hypothesis

        print(hypothesis.__name__)
        """
    )
    assert output.splitlines() == ["0", "hypothesis"]


def test_in_a_process_with_pandas_the_same_contract_refuses_the_same_rows() -> None:
    schema = pa.DataFrameSchema({"share": pa.Column(pl.Float64, pa.Check.in_range(0, 1))})
    with pytest.raises(SchemaErrors) as refused:
        schema.validate(pl.DataFrame({"share": [0.2, 1.5]}), lazy=True)
    assert refused.value.failure_cases["index"].to_list() == [1]
