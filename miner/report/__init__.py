"""For analysts: the funnel, the HTML report with its figures and methods appendix, and view
exports to Parquet or CSV."""
