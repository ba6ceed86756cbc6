"""Search plans: TOML plans expanded into concrete queries, the query language and its local
matcher, and the budget planner that decides which queries a run can afford."""
