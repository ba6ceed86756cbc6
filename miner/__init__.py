"""refusal-miner: find first-hand accounts of LLM refusals in mental-health support.

The library behind the ``miner`` CLI, the Prefect flows and the triage web app, one package per
pipeline stage. Data flows one way, down this list, and a package imports only itself and the
packages listed before it (docs/design.md §7; ``tests/test_architecture.py`` checks it):

    core/       the warehouse (the only module that opens DuckDB), clock, config, errors, rows, rate limits
    plan/       search plans: TOML -> queries, the query language, local search, the budget planner
    collect/    Reddit and news sources, live harvest, archive imports, pseudonyms, deletions, the store
    process/    cleaned text, duplicate groups, embeddings, forgetting what deleted documents left
    triage/     the codebook, evidence, scores, clusters, the queue, annotations and annotators
    incidents/  incidents and scenarios, PII and anonymization, privacy checks, exports
    report/     the funnel, the HTML report with figures and methods appendix, view exports
    tuning/     what a plan misses on labelled documents, and suggestions to widen it
    pipeline.py the stages of ``miner process`` in order, and what crosses stages (deletions)

On top, importing the library but never imported by it: ``replay/`` (a local Reddit and NewsAPI
over a bundled corpus, for the demo and the tests), ``flows/`` (Prefect orchestration), ``web/``
(the annotators' app) and ``cli/`` (the ``miner`` command).
"""

__version__ = "0.1.0"
