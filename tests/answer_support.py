"""Helpers for answer tests: scripted generators (hostile on purpose) and the grounding invariant."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from app.answer.evidence import parse_citations
from app.answer.generator import GenerationEvent, GenerationRequest, GeneratorError
from app.answer.think import ThinkSplitter
from app.retrieval.search import Searcher
from app.runtime import Runtime
from app.text.sentences import sentence_spans

OUT_OF_CORPUS = [line.strip() for line in (Path(__file__).parent / "fixtures" / "out_of_corpus.txt")
                 .read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


class ScriptedGenerator:
    """A deterministic stand-in for the LLM: writes whatever ``write`` returns, streamed in small pieces
    through the same ``<think>`` splitter the real LLM client uses."""

    mode: Literal["llm", "extractive"] = "llm"

    def __init__(self, write: Callable[[GenerationRequest], str], fail_after: int | None = None) -> None:
        self.write = write
        self.fail_after = fail_after
        self.prompts: list[list[dict[str, str]]] = []

    def model_id(self) -> str:
        return "scripted-test-model"

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        raise GeneratorError("scripted generator does not rewrite")

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        self.prompts.append(request.messages)
        raw = self.write(request)
        splitter = ThinkSplitter()
        for i in range(0, len(raw), 7):
            if self.fail_after is not None and i >= self.fail_after:
                raise GeneratorError("connection reset by peer (scripted)")
            for kind, text in splitter.feed(raw[i : i + 7]):
                yield GenerationEvent(kind, text)  # type: ignore[arg-type]
        for kind, text in splitter.finish():
            yield GenerationEvent(kind, text)  # type: ignore[arg-type]


_NUMBERED_HEADING = re.compile(r"\d+(?:\.\d+)*\s+[A-Z][A-Z ]{3,}\b")


def evidence_sentences(request: GenerationRequest) -> list[tuple[int, str]]:
    """The evidence's prose sentences as a model would quote them: a span that runs over a heading or a list
    or opens with a numbered heading ("4 CONTRAINDICATIONS Warfarin sodium is contraindicated in: Pregnancy …")
    is no sentence to quote."""
    out: list[tuple[int, str]] = []
    for ev in request.evidence:
        text = ev.chunk.text
        spans = [text[s.start : s.end] for s in sentence_spans(text)]
        out.extend((ev.n, span) for span in spans
                   if len(span) > 30 and "\n" not in span and not _NUMBERED_HEADING.match(span))
    return out


def sloppy_writer(seed: int) -> Callable[[GenerationRequest], str]:
    """An LLM that mixes faithful sentences with every kind of error a small model makes."""

    def write(request: GenerationRequest) -> str:
        rng = random.Random(seed + len(request.question))
        sentences = evidence_sentences(request)
        if not sentences:
            return "INSUFFICIENT_EVIDENCE"
        parts = ["<think>Let me look at block [1] and guess.</think>"]
        for n, sentence in rng.sample(sentences, min(4, len(sentences))):
            body = sentence.rstrip(".")
            variant = rng.randrange(7)
            if variant == 0:
                parts.append(f"{body} [{n}].")
            elif variant == 1:
                parts.append(f"{body} [{len(request.evidence) + 7}].")  # evidence that was never given
            elif variant == 2:
                parts.append(f"{body}.")  # uncited
            elif variant == 3:
                parts.append(re.sub(r"\d+", lambda m: str(int(m.group()) * 10 + 3), body) + f" [{n}].")
            elif variant == 4:
                parts.append(f"It is not true that {body[0].lower()}{body[1:]} [{n}].")
            elif variant == 5:
                parts.append(f"Patients on this drug should double the dose every morning [{n}].")
            else:
                parts.append(f"{body} [{n}][{n + 1}].")
        return " ".join(parts)

    return write


def assert_grounded(answer: dict[str, Any], rt: Runtime | Searcher) -> None:
    """The product's first promise: every citation is a verbatim span of the stored document version,
    every mark in the answer has its citation, and only supported claims carry citations."""
    numbers = {c["n"] for c in answer["citations"]}
    for c in answer["citations"]:
        doc = rt.manifest.document(c["doc_id"])
        assert doc is not None and doc.version == c["version"], c
        assert doc.text[c["start"] : c["end"]] == c["quote"], c
        assert c["quote"].strip(), c
    marks = set(parse_citations(answer["answer"]))
    assert marks == numbers, (answer["answer"], numbers)
    if answer["abstained"]:
        assert not numbers
    for claim in answer["claims"]:
        if claim["supported"]:
            assert claim["citations"] and set(claim["citations"]) <= numbers, claim
        else:
            assert claim["citations"] == [], claim


def sse_events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a server-sent-events response (an httpx streaming response)."""
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: ") and name:
            events.append((name, json.loads(line[len("data: "):])))
    return events
