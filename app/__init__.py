"""MedEvidence runtime: shared types, stores, retrieval, answers and interfaces."""

__version__ = "0.1.0"
