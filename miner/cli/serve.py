"""``miner serve`` (the annotators' web app) and ``miner annotator`` (who may use it)."""

from __future__ import annotations

import click

from miner.cli import main
from miner.cli.common import console, print_rows, warehouse_option
from miner.cli.triage import _open
from miner.core.errors import MinerError


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this machine can connect unless you change it.")
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--all-documents", is_flag=True, help="Queue every document, not only those a search found.")
@warehouse_option
def serve_cmd(host, port, all_documents, warehouse) -> None:
    """Start the annotators' web app (sign in with a token from `miner annotator add`)."""
    import uvicorn

    from miner.web.app import create_app

    with _open(warehouse) as wh:  # check the file and bring the schema up to date before serving
        n = wh.scalar("SELECT count(*) FROM annotators WHERE revoked_at IS NULL")
        path = wh.path
    if not n:
        raise MinerError("no annotators yet: add one first with `miner annotator add NAME`")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]Listening on {host}: anyone who can reach this machine can try to sign in. "
                      "Put it behind HTTPS before using it over a network.[/yellow]")
    console.print(f"Annotators' app on http://{host}:{port}  (warehouse {path}; Ctrl-C stops)")
    uvicorn.run(create_app(path, all_documents=all_documents), host=host, port=port, log_level="warning",
                access_log=False)


@main.group("annotator")
def annotator() -> None:
    """Add annotators and manage their tokens and settings."""


@annotator.command("add")
@click.argument("name")
@click.option("--expires-days", type=float, default=None, help="The token stops working after this many days.")
@warehouse_option
def add_cmd(name, expires_days, warehouse) -> None:
    """Add annotator NAME and print their token (shown only this once)."""
    from miner.triage.annotators import add

    with _open(warehouse) as wh:
        token = add(wh, name, expires_days=expires_days)
    _print_token(name, token)


@annotator.command("token")
@click.argument("name")
@click.option("--expires-days", type=float, default=None)
@warehouse_option
def token_cmd(name, expires_days, warehouse) -> None:
    """Give NAME a new token (the old one stops working, open sessions end)."""
    from miner.triage.annotators import new_token

    with _open(warehouse) as wh:
        token = new_token(wh, name, expires_days=expires_days)
    _print_token(name, token)


@annotator.command("revoke")
@click.argument("name")
@warehouse_option
def revoke_cmd(name, warehouse) -> None:
    """Stop NAME signing in (their annotations stay)."""
    from miner.triage.annotators import revoke

    with _open(warehouse) as wh:
        revoke(wh, name)
    console.print(f"{name}: token withdrawn")


@annotator.command("list")
@warehouse_option
def list_cmd(warehouse) -> None:
    """Annotators, their settings and how much they labelled."""
    from miner.triage.annotators import listing

    with _open(warehouse, read_only=True) as wh:
        people = listing(wh)
        done = dict(wh.rows("SELECT annotator, count(*) FROM v_annotations_current GROUP BY ALL"))
    print_rows(["name", "status", "token expires", "blur", "break after (min)", "opts out of", "labels"],
               [(a.name, "revoked" if a.revoked_at else "active", a.token_expires_at, a.blur, a.break_minutes,
                 ", ".join(a.opt_out), done.get(a.name, 0)) for a in people], title="Annotators")


def _print_token(name: str, token: str) -> None:
    # the token goes to stdout alone on its line so it can be piped; it is never stored or logged
    console.print(f"Token for {name} (shown once; give it to them privately):", highlight=False)
    click.echo(token)
