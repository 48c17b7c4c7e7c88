"""Persistent stores: the document manifest, the chunk vector index and the graph."""
