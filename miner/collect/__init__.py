"""Collecting documents: the Reddit and news sources, the live harvest, archive imports from dump
files, normalization and pseudonymization, deletions at the source, and the store every
collection path writes through."""
