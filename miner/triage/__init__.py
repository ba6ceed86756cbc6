"""Triage: the codebook, evidence spans, scores, clusters, the queue, annotations and the
annotators who make them."""
