"""After collection: cleaned text, duplicate groups, embeddings, and forgetting what was derived
from documents deleted at the source."""
