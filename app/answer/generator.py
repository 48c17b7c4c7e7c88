"""The generator seam: an LLM behind an OpenAI-compatible API, or the extractive answerer.

Both stream ``GenerationEvent`` parts — reasoning apart from answer text — whose answer text cites
evidence blocks as ``[n]``.  Whatever a generator writes is verified afterwards (``verify.py``):
a generator is never trusted to cite correctly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.answer.evidence import Evidence
from app.retrieval.question import QuestionFocus


@dataclass(frozen=True)
class GenerationEvent:
    kind: Literal["reasoning", "answer", "usage"]
    text: str
    usage: dict[str, int] | None = None  # kind "usage": the server's token counts (prompt_tokens, completion_tokens)


@dataclass(frozen=True)
class GenerationRequest:
    question: str  # standalone (follow-ups already rewritten)
    language: str  # "en" | "zh" | "mixed": the answer's language
    evidence: Sequence[Evidence]
    messages: list[dict[str, str]] = field(default_factory=list)  # the versioned prompt (LLM only)
    entities: tuple[str, ...] = ()  # names of the drugs/diseases the question links to
    focus: QuestionFocus = field(default_factory=QuestionFocus)  # what it is about and asks (question.py)
    own_documents: frozenset[str] = frozenset()  # the focus drugs' own documents among the evidence


class GeneratorError(RuntimeError):
    """The generator could not answer (unreachable, timed out, refused); the caller falls back."""


class Generator(Protocol):
    mode: Literal["llm", "extractive"]

    def model_id(self) -> str:
        """The model that writes the answers (served model name, or the extractive method's id)."""
        ...

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        """Stream the answer (and any reasoning); raises ``GeneratorError`` on failure."""
        ...

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        """One short non-streamed completion, reasoning removed (query rewriting); raises ``GeneratorError``."""
        ...

    def ready(self) -> bool:
        """Whether the generator can answer now (the server answers; the model is listed)."""
        ...

    def close(self) -> None: ...
