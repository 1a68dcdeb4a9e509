"""`warehouse identity train` and `warehouse explain`: the identity match model, trained and explained.

Thin shells over `cli.identity_training` (estimate the match parameters, write the seeds) and
`cli.identity_explain` (one customer's records and edges).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.console import console, settings_of, summary_table

identity_app = typer.Typer(
    help="The identity match model: train its parameters (docs/identity.md).", no_args_is_help=True
)

IDENTITY_TRAINING_MODELS = "+int_identity_pairs_compared +int_identity_pairs_sampled"
"""What training reads, with everything it is built from (staging included: a loaded warehouse suffices)."""


@identity_app.command("train")
def identity_train(
    ctx: typer.Context,
    training_data: Annotated[
        str | None, typer.Option(help="What the warehouse holds, recorded with the parameters (e.g. 'FEBRL2').")
    ] = None,
) -> None:
    """Re-estimate the match model's m and u on this warehouse's records and rewrite its seeds.

    Builds the comparison tables (blocked and random pairs) from the loaded records (`warehouse load` suffices),
    estimates u from random pairs and m by EM over the blocked pairs, without labels, and rewrites
    dbt_project/seeds/identity/identity_match_parameters.csv and identity_match_training.csv (a new version).
    The next `warehouse run` scores with them; commit the seeds to keep runs repeatable.
    """
    from cli import identity_training
    from cli.identity_training import match_weights, train, write_seeds
    from core.dbt_cli import DbtError, run_dbt

    settings = settings_of(ctx)
    try:
        run_dbt(
            ["build", "--select", IDENTITY_TRAINING_MODELS, "--indirect-selection", "cautious",
             "--vars", "{identity_training: true}"],
            settings,
        )
        parameters, sizes = train(settings.warehouse_path)
    except (DbtError, ValueError) as error:
        console.print(f"[red]warehouse identity train: {error}[/red]")
        raise typer.Exit(code=1) from error
    version = write_seeds(
        parameters, sizes, training_data or f"the warehouse {settings.warehouse_path}",
        seeds_dir=identity_training.SEEDS_DIR,
    )
    console.print(
        summary_table(
            f"Match parameters version {version}: prior {parameters.prior:.4g}, {parameters.iterations} EM iterations",
            ["comparison", "level", "m", "u", "weight (bits)"],
            [(c, level, f"{parameters.m[c][level]:.4g}", f"{parameters.u[c][level]:.4g}", f"{w:+.2f}")
             for c, level, w in match_weights(parameters)],
        )
    )
    console.print(f"Trained on {sizes['records']:,} records, {sizes['blocked_pairs']:,} blocked and "
                  f"{sizes['random_pairs']:,} random pairs; `warehouse run` scores with them.")


def explain(
    ctx: typer.Context, customer_id: Annotated[str, typer.Option(help="The customer (cus_...) to explain.")]
) -> None:
    """Why records are one customer: its records, and every edge with its rule, probability and field weights."""
    from cli.identity_explain import explain as explain_customer

    settings = settings_of(ctx)
    if not settings.warehouse_path.exists():
        console.print(f"[red]No warehouse at {settings.warehouse_path}[/]: run `warehouse run` first.")
        raise typer.Exit(code=1)
    explanation = explain_customer(settings.warehouse_path, customer_id)
    if not explanation.records:
        console.print(f"[red]No customer {customer_id}[/] in {settings.warehouse_path}")
        raise typer.Exit(code=1)
    # Attributes down, records across, and one small table per edge: readable in an 80-column terminal or a
    # CI log, where a wide table would fold every column name.
    records = Table(title=f"Records of {customer_id}", title_justify="left", show_edge=False)
    records.add_column("")
    for record in explanation.records:
        records.add_column(str(record[0]), overflow="fold")
    for index, column in enumerate(explanation.record_columns[1:], start=1):
        cells = ("" if record[index] is None else str(record[index]) for record in explanation.records)
        records.add_row(column, *cells)
    console.print(records)
    console.print("Edges (weights in bits: + for a match, - against)" if explanation.edges else "No edges.")
    for edge in explanation.edges:
        values = dict(zip(explanation.edge_columns, edge, strict=True))
        title = (
            f"{values.pop('left_record')} - {values.pop('right_record')}: {values.pop('rule')}, "
            f"probability {values.pop('probability')}, weight {values.pop('weight')}"
        )
        table = Table(title=title, title_justify="left", show_edge=False, show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        for column, value in values.items():
            table.add_row(column, "" if value is None else str(value))
        console.print(table)
    if explanation.split_by_cap:
        console.print(f"[yellow]This customer's cluster was split: it exceeded the {explanation.split_by_cap} cap.[/]")
