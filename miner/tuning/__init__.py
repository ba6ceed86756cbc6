"""Better plans: how much a plan misses on labelled documents, and suggestions to widen it."""
