"""`warehouse erase`: record an erasure request in the ledger; the next run applies it."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from cli.console import console, settings_of, summary_table
from core.email import EMAIL_PATTERN


def erase(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="Erase the person with this email.")] = None,
    customer_id: Annotated[str | None, typer.Option(help="Erase this customer (cus_...) of the serving copy.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Record an --email the project's email rule rejects (a typo is likelier).")
    ] = False,
) -> None:
    """Record an erasure request (GDPR art. 17 / CCPA delete); the next `warehouse run` removes the person.

    Only salted hashes are written to the erasure ledger: of the given identifier and of every other one the
    serving copy's marts hold for the person (the columns their YAML declares personal). Says how many customers
    and identifiers matched; an --email that is no valid email is refused unless --force. See docs/privacy.md.
    """
    from orchestration.resources import dbt_project
    from privacy.erasure import count_by_kind, resolve_subjects
    from privacy.ledger import ErasureLedger
    from privacy.registry import read_registry

    if (email is None) == (customer_id is None):
        console.print("[red]warehouse erase: give exactly one of --email or --customer-id[/red]")
        raise typer.Exit(code=2)
    kind, value = ("email", email) if email is not None else ("customer_id", customer_id)
    if not value.strip():
        console.print(f"[red]warehouse erase: the {kind} is empty[/red]")
        raise typer.Exit(code=2)
    if kind == "email" and not force and re.fullmatch(EMAIL_PATTERN, value.strip().lower()) is None:
        console.print("[red]warehouse erase: that is not a valid email; check it, or pass --force to record it[/red]")
        raise typer.Exit(code=2)
    settings = settings_of(ctx)
    subjects = resolve_subjects(settings.serving_path, kind, value, read_registry(dbt_project.manifest_path, settings))
    request = ErasureLedger(settings).record(subjects)
    counts = count_by_kind(subjects)
    console.print(
        summary_table(f"Erasure request {request.request_id} recorded", ["identifiers (hashed)", "count"],
                      list(counts.items()))
    )  # fmt: skip
    if len(subjects) == 1:
        console.print(
            f"[yellow]No one in the serving copy ({settings.serving_path}) has this {kind}: only its hash is "
            "recorded. The next `warehouse run` deletes any record holding it and keeps it out of later loads.[/yellow]"
        )
        return
    customers = counts.get("customer_id", 0)
    console.print(
        f"Matched {customers} customer{'s' if customers != 1 else ''} and {len(subjects) - 1} other identifiers in "
        "the serving copy. The next `warehouse run` removes them from the warehouse, the serving copy and the ESP."
    )
