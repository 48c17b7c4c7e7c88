"""Follow-up questions made standalone before retrieval.

With an LLM: the model rewrites the follow-up from the conversation (``condense`` prompt).
Without one (or when it fails): the follow-up keeps the drugs and diseases the conversation was
about — when it links no entity of its own, the last turn's entity names are added to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.answer.generator import Generator, GeneratorError
from app.answer.prompt import Turn, condense_messages
from app.retrieval.query import QueryAnalyzer

MAX_STANDALONE_CHARS = 1000


@dataclass(frozen=True)
class Rewrite:
    question: str
    method: str  # "none" | "llm" | "entities"
    error: str | None = None


def rewrite_follow_up(
    question: str, history: Sequence[dict[str, Any]], analyzer: QueryAnalyzer, generator: Generator | None
) -> Rewrite:
    if not history:
        return Rewrite(question, "none")
    error = None
    if generator is not None and generator.mode == "llm":
        turns = [Turn(h["question"], h["answer"]) for h in history]
        try:
            text = generator.complete(condense_messages(turns, question), max_tokens=200).strip()
            if text and len(text) <= MAX_STANDALONE_CHARS and text.upper() != "INSUFFICIENT_EVIDENCE":
                return Rewrite(text.splitlines()[0].strip(), "llm")
            error = "the model's rewrite was empty or too long"
        except GeneratorError as exc:
            error = str(exc)
    if analyzer.analyze(question).entities:
        return Rewrite(question, "none", error)
    for turn in reversed(history):
        names = [e["name"] for e in turn.get("entities", [])]
        if names:
            return Rewrite(f"{question} ({', '.join(dict.fromkeys(names))})", "entities", error)
    return Rewrite(question, "none", error)
