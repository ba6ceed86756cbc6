"""``miner scenario ...``: incidents grouped under one condensed narrative, checked like incidents."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import warehouse_option
from miner.cli.incident import FILE, TEXT, add_check_commands, narrative_text, open_warehouse
from miner.incidents import incidents


@main.group("scenario")
def scenario() -> None:
    """Scenarios: incidents grouped under one condensed narrative written by the team."""


@scenario.command("create")
@click.argument("title")
@click.argument("incident_ids", nargs=-1, required=True)
@TEXT
@FILE
@warehouse_option
def scenario_create(title: str, incident_ids: tuple[str, ...], text: str | None, file: Path | None,
                    warehouse: Path | None) -> None:
    """Create a scenario grouping INCIDENT_IDS; prints its id."""
    with open_warehouse(warehouse) as wh:
        sid = incidents.create_scenario(wh, title, list(incident_ids),
                                        narrative_text(text, file) if (text or file) else None)
    click.echo(sid)


@scenario.command("add")
@click.argument("scenario_id")
@click.argument("incident_ids", nargs=-1, required=True)
@warehouse_option
def scenario_add(scenario_id: str, incident_ids: tuple[str, ...], warehouse: Path | None) -> None:
    """Add incidents to a scenario."""
    with open_warehouse(warehouse) as wh:
        incidents.add_to_scenario(wh, scenario_id, list(incident_ids))


@scenario.command("narrative")
@click.argument("scenario_id")
@TEXT
@FILE
@warehouse_option
def scenario_narrative(scenario_id: str, text: str | None, file: Path | None, warehouse: Path | None) -> None:
    """Set the condensed narrative (anonymized on the way in); prints what was stored."""
    with open_warehouse(warehouse) as wh:
        click.echo(incidents.set_scenario_narrative(wh, scenario_id, narrative_text(text, file)))


add_check_commands(scenario)
