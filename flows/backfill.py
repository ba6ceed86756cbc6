"""Deployment entry point of the ``reddit-backfill`` flow
(``prefect deploy flows/backfill.py:reddit_backfill``). The flow is :mod:`miner.flows.backfill`."""

from miner.flows.backfill import reddit_backfill

__all__ = ["reddit_backfill"]
