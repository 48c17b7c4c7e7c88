"""Hybrid retrieval: query analysis, channels, fusion, search."""
