"""Text analysis shared by indexing and querying: language detection, tokenisation, embeddings."""
