"""``miner serve``: the annotators' web app (``miner annotator`` says who may sign in)."""

from __future__ import annotations

import click

from miner.cli import main
from miner.cli.common import PORT, console, open_existing, warehouse_option
from miner.core.errors import MinerError
from miner.triage.annotators import active_count
from miner.web.app import create_app


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this machine can connect unless you change it.")
@click.option("--port", default=8787, show_default=True, type=PORT)
@click.option("--all-documents", is_flag=True, help="Queue every document, not only those a search found.")
@warehouse_option
def serve_cmd(host, port, all_documents, warehouse) -> None:
    """Start the annotators' web app (sign in with a token from `miner annotator add`)."""
    import uvicorn

    with open_existing(warehouse) as wh:  # check the file and bring the schema up to date before serving
        n = active_count(wh)
        path = wh.path
    if not n:
        raise MinerError("no annotators yet: add one first with `miner annotator add NAME`")
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]Listening on {host}: anyone who can reach this machine can try to sign in. "
                      "Put it behind HTTPS before using it over a network.[/yellow]")
    console.print(f"Annotators' app on http://{host}:{port}  (warehouse {path}; Ctrl-C stops)")
    uvicorn.run(create_app(path, all_documents=all_documents, host=host, port=port), host=host, port=port,
                log_level="warning", access_log=False)
