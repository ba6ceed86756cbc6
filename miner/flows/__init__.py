"""The Prefect flows: orchestration only (order, retries, logging, schedules). Every step is a
function of the library; the top-level ``flows/`` folder holds their deployment entry points."""
