"""refusal-miner: find first-hand accounts of LLM refusals in mental-health support.

The library behind the ``miner`` CLI, the Prefect flows and the triage web app. Data flows
one way: plans -> harvest -> warehouse -> dedup/embed -> triage -> anonymized exports.
"""

__version__ = "0.1.0"
