"""Deployment entry point of the ``process`` flow (``prefect deploy flows/process.py:process_warehouse``).
The flow is :mod:`miner.flows.process`."""

from miner.flows.process import process_warehouse

__all__ = ["process_warehouse"]
