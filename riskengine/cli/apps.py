"""The typer applications the commands register on: ``riskengine`` and its groups."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="riskengine",
    help="Supplier-risk scoring: how likely each material-supplier pair is to be disrupted in "
    "the next 12 months, and why.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
reference_app = typer.Typer(help="Inspect and validate the reference data.", no_args_is_help=True)
app.add_typer(reference_app, name="reference")
model_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
labels_app = typer.Typer(help="The public-events labels.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")
