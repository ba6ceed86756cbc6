"""The bottom layer: the warehouse (the only module that opens DuckDB), the clock, configuration,
errors a user can act on, the row types stages pass around, and API rate limits."""
