"""``miner schedule``: serve the nightly-harvest deployment on a cron schedule (Prefect ``serve``)."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import PORT, console, warehouse_option, warehouse_path
from miner.core.errors import MinerError
from miner.flows.server import prefect_api
from miner.plan.plan import cadences, every_text, load_plan


@main.command("schedule")
@click.argument("plan_file", type=click.Path(path_type=Path), default="queries/paper.toml")
@click.option("--cron", default="0 3 * * *", show_default=True, help="When to run (cron, server time zone UTC).")
@click.option("--name", default="nightly", show_default=True, help="Deployment name.")
@click.option("--replay", is_flag=True, help="Harvest the bundled replay corpus (for trying the schedule out).")
@click.option("--paused", is_flag=True, help="Create the schedule paused.")
@click.option("--no-process", is_flag=True, help="Harvest only; leave `miner process` to another schedule.")
@click.option("--dry-run", is_flag=True, help="Print the deployment and exit without serving.")
@click.option("--port", default=4200, show_default=True, type=PORT,
              help="Port of the local Prefect server started when PREFECT_API_URL is not set.")
@warehouse_option
def schedule(plan_file: Path, cron: str, name: str, replay: bool, paused: bool, no_process: bool, dry_run: bool,
             port: int, warehouse: Path | None) -> None:
    """Serve the nightly-harvest flow for PLAN_FILE on a schedule until stopped (Ctrl-C).

    Schedules need a Prefect server: the one at $PREFECT_API_URL, else a local one started
    here for as long as this runs (UI at http://127.0.0.1:PORT). Runs never overlap
    (deployment concurrency 1). The README explains watching, pausing and running by hand.
    """
    from prefect.client.schemas.schedules import CronSchedule

    plan = load_plan(plan_file)
    try:
        CronSchedule(cron=cron, timezone="UTC")
    except ValueError as exc:
        raise MinerError(f"--cron {cron!r}: not a valid cron expression ({exc.errors()[0]['msg']})") from None
    from miner.flows.nightly import nightly_harvest  # lazy: importing Prefect takes seconds; --help should not

    parameters = {"plan": str(plan_file.resolve()), "warehouse": str(warehouse_path(warehouse).resolve()),
                  "replay": replay, "process": not no_process}
    every = cadences(plan)
    deployments = [nightly_harvest.to_deployment(
        name=name, cron=cron, paused=paused, concurrency_limit=1,
        parameters={**parameters, **({"sweep_every_seconds": 0} if every else {})})]
    # A swept scope with its own cadence gets its own schedule: it only harvests (the main
    # schedule processes), and never overlaps another run (one run at a time, below).
    deployments += [nightly_harvest.to_deployment(
        name=f"{name}-sweep-{every_text(e)}", interval=e, paused=paused, concurrency_limit=1,
        parameters={**parameters, "process": False, "check_deletions_daily": False,
                    "sweep_every_seconds": int(e.total_seconds())}) for e in every]
    if dry_run:
        for d in deployments:
            s = d.schedules[0].schedule
            when = f"{s.cron} (UTC)" if getattr(s, "cron", None) else f"every {every_text(s.interval)}"
            console.print(f"deployment: nightly-harvest/{d.name}")
            console.print(f"schedule:   {when}{' paused' if paused else ''}")
            for k, v in d.parameters.items():
                console.print(f"  {k} = {v}")
        return
    from prefect import serve

    with prefect_api(port) as api:
        console.print(f"Prefect API: {api}  (UI: {api.removesuffix('/api')})")
        serve(*deployments, limit=1)

