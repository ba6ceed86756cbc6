"""Incidents and scenarios: linking documents into stories, anonymization, the privacy checks and
the exports that carry only what passes them."""
