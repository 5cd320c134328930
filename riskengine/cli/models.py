"""The model commands: ``train``, ``retrain``, ``backtest``, ``labels`` and ``model``."""

from __future__ import annotations

from typing import Annotated

import typer

from riskengine.cli.apps import app, labels_app, model_app
from riskengine.cli.options import (
    BuyerCountryOption,
    ReferenceDirOption,
)
from riskengine.cli.runtime import run_command, say
from riskengine.config import load_settings


@app.command()
def train(
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Only train when no champion exists.")
    ] = False,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="Your own disruption history (material, supplier, supplier_country, "
            "buyer_country, period, disrupted) instead of the public events.",
        ),
    ] = None,
    buyer_country: BuyerCountryOption = None,
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Train, evaluate on a held-out later period, and register the model in MLflow."""

    def body() -> None:
        from riskengine.render import print_metrics

        settings = load_settings(reference_dir=reference_dir)
        if labels is not None:
            from riskengine.app.training import train_history_file

            history = train_history_file(settings, labels, buyer_country=buyer_country)
            say(history.message)
            if history.rejects.height:
                say(f"{history.rejects.height} history rows left out (see the MLflow run)")
            print_metrics(history.metrics)
            return
        from riskengine.app.training import train_public

        outcome = train_public(settings, if_missing=if_missing)
        say(outcome.message)
        if outcome.metrics:
            print_metrics(outcome.metrics)

    run_command(body)


@app.command()
def retrain(reference_dir: ReferenceDirOption = None) -> None:
    """Rebuild, train, backtest and register; promote only a better model.

    `champion` moves only if the new version's event-level AUC on the same folds is not lower;
    otherwise it stays `challenger` and the command says why.
    """

    def body() -> None:
        from riskengine.app.evaluation import retrain as retrain_workflow

        outcome = retrain_workflow(load_settings(reference_dir=reference_dir))
        say(outcome.message)

    run_command(body)


@app.command()
def backtest(reference_dir: ReferenceDirOption = None) -> None:
    """Decision-level validation: each held-out decision scored 6 months ahead among all flows,
    against simple baselines, with event-bootstrap intervals.

    Logs an MLflow parent run with a child run per fold and prints the tables.
    """

    def body() -> None:
        from riskengine.app.evaluation import backtest as backtest_workflow

        outcome = backtest_workflow(load_settings(reference_dir=reference_dir))
        print(outcome.markdown)
        say(outcome.message)

    run_command(body)


@labels_app.command("summary")
def labels_summary(reference_dir: ReferenceDirOption = None) -> None:
    """Positives and rows of the public-events panel per year and per supplier country."""

    def body() -> None:
        from riskengine.app.registry import labels_summary as summary
        from riskengine.render import print_frame

        print_frame(summary(load_settings(reference_dir=reference_dir)), "Labels")

    run_command(body)


@model_app.command("list")
def model_list() -> None:
    """Registered versions with their aliases and held-out metrics."""

    def body() -> None:
        from riskengine.app.registry import list_models
        from riskengine.render import print_frame

        print_frame(list_models(load_settings()), "Registered versions")

    run_command(body)


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
) -> None:
    """Point `champion` at VERSION (the previous champion is remembered for rollback)."""

    def body() -> None:
        from riskengine.app.registry import promote

        say(promote(load_settings(), version).message)

    run_command(body)


@model_app.command("rollback")
def model_rollback() -> None:
    """Point `champion` back at the previous champion."""

    def body() -> None:
        from riskengine.app.registry import rollback

        say(rollback(load_settings()).message)

    run_command(body)
