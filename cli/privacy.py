"""`warehouse erase`: record an erasure request in the ledger; the next run applies it."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.console import console, settings_of, summary_table


def erase(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="Erase the person with this email.")] = None,
    customer_id: Annotated[str | None, typer.Option(help="Erase this customer (cus_...) of the serving copy.")] = None,
) -> None:
    """Record an erasure request (GDPR art. 17 / CCPA delete); the next `warehouse run` removes the person.

    Only salted hashes are written to the erasure ledger: of the given identifier and of every other one the
    serving copy knows for the person (their records' ids, emails, phones). See docs/privacy.md.
    """
    from privacy.erasure import count_by_kind, resolve_subjects
    from privacy.ledger import ErasureLedger

    if (email is None) == (customer_id is None):
        console.print("[red]warehouse erase: give exactly one of --email or --customer-id[/red]")
        raise typer.Exit(code=2)
    kind, value = ("email", email) if email is not None else ("customer_id", customer_id)
    if not value.strip():
        console.print(f"[red]warehouse erase: the {kind} is empty[/red]")
        raise typer.Exit(code=2)
    settings = settings_of(ctx)
    subjects = resolve_subjects(settings.serving_path, kind, value)
    request = ErasureLedger(settings).record(subjects)
    console.print(
        summary_table(f"Erasure request {request.request_id} recorded", ["identifiers (hashed)", "count"],
                      list(count_by_kind(subjects).items()))
    )  # fmt: skip
    console.print("The next `warehouse run` removes this person from the warehouse, the serving copy and the ESP.")
