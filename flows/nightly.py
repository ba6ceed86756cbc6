"""Deployment entry point of the ``nightly-harvest`` flow (``miner schedule`` serves it;
``prefect deploy flows/nightly.py:nightly_harvest`` deploys it). The flow is
:mod:`miner.flows.nightly`."""

from miner.flows.nightly import nightly_harvest

__all__ = ["nightly_harvest"]
