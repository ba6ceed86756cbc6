"""``miner annotator``: who may sign in to the annotators' web app, their tokens and settings."""

from __future__ import annotations

import click

from miner.cli import main
from miner.cli.common import console, open_existing, print_rows, warehouse_option
from miner.triage.annotators import add, label_counts, listing, new_token, revoke


@main.group("annotator")
def annotator() -> None:
    """Add annotators and manage their tokens and settings."""


@annotator.command("add")
@click.argument("name")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), default=None, help="The token stops working after this many days.")
@warehouse_option
def add_cmd(name, expires_days, warehouse) -> None:
    """Add annotator NAME and print their token (shown only this once)."""
    with open_existing(warehouse) as wh:
        token = add(wh, name, expires_days=expires_days)
    _print_token(name, token)


@annotator.command("token")
@click.argument("name")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), default=None)
@warehouse_option
def token_cmd(name, expires_days, warehouse) -> None:
    """Give NAME a new token (the old one stops working, open sessions end)."""
    with open_existing(warehouse) as wh:
        token = new_token(wh, name, expires_days=expires_days)
    _print_token(name, token)


@annotator.command("revoke")
@click.argument("name")
@warehouse_option
def revoke_cmd(name, warehouse) -> None:
    """Stop NAME signing in (their annotations stay)."""
    with open_existing(warehouse) as wh:
        revoke(wh, name)
    console.print(f"{name}: token withdrawn")


@annotator.command("list")
@warehouse_option
def list_cmd(warehouse) -> None:
    """Annotators, their settings and how much they labelled."""
    with open_existing(warehouse, read_only=True) as wh:
        people = listing(wh)
        done = label_counts(wh)
    print_rows(["name", "status", "token expires", "blur", "break after (min)", "opts out of", "labels"],
               [(a.name, "revoked" if a.revoked_at else "active", a.token_expires_at, a.blur, a.break_minutes,
                 ", ".join(a.opt_out), done.get(a.name, 0)) for a in people], title="Annotators")


def _print_token(name: str, token: str) -> None:
    # the token goes to stdout alone on its line so it can be piped; it is never stored or logged
    console.print(f"Token for {name} (shown once; give it to them privately):", highlight=False)
    click.echo(token)
