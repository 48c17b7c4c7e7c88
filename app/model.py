"""Plain typed data that flows source -> Document -> Chunk -> stores.

Offsets are character offsets into a document's *canonical text*: the section texts
joined by "\n\n" in order (CONTRACT.md).  ``canonical_text[start:end]`` is always the
text a section or chunk carries.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal
from urllib.parse import quote

SourceType = Literal["label", "guideline", "evidence", "interaction", "other", "local_rule"]
SOURCE_TYPES: tuple[str, ...] = ("label", "guideline", "evidence", "interaction", "other", "local_rule")
LOCAL_RULE = "local_rule"  # a hospital rule's document (app/rules.py)
SECTION_SEPARATOR = "\n\n"
_CHUNK_NAMESPACE = uuid.UUID("6f1c7d2e-3b0a-4c55-9a53-1d1b6a0e7c11")


@dataclass(frozen=True)
class Section:
    """One titled span of a document's canonical text."""

    heading: str
    start: int
    end: int


@dataclass(frozen=True)
class Page:
    """The span of a paged document's canonical text that came from one page of its original file: page
    ``number`` (1-based) gave ``text[start:end]``; ``ocr`` says it was read from the page image."""

    number: int
    start: int
    end: int
    ocr: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"page": self.number, "start": self.start, "end": self.end, "ocr": self.ocr}

    def compact(self) -> list[Any]:
        """The form the manifest and chunk payloads store: [page, start, end, ocr]."""
        return [self.number, self.start, self.end, self.ocr]

    @classmethod
    def from_json(cls, data: Any) -> Page:
        if isinstance(data, dict):
            return cls(int(data["page"]), int(data["start"]), int(data["end"]), bool(data.get("ocr", False)))
        number, start, end, *rest = data  # the compact form chunk payloads carry: [page, start, end, ocr]
        return cls(int(number), int(start), int(end), bool(rest[0]) if rest else False)


def pages_within(pages: tuple[Page, ...], start: int, end: int) -> tuple[Page, ...]:
    """The pages whose text overlaps ``[start, end)``, in page order."""
    return tuple(p for p in pages if p.start < end and start < p.end)


def page_label(pages: tuple[Page, ...]) -> str | None:
    """"p. 12" / "pp. 12-13" for the pages a span lies on; None for a document without pages."""
    if not pages:
        return None
    first, last = pages[0].number, pages[-1].number
    return f"p. {first}" if first == last else f"pp. {first}-{last}"


@dataclass(frozen=True)
class Document:
    """A source document in canonical form: one text, ordered sections, metadata.

    ``id`` is the caller's stable id (set id, PMID, MedQuAD id, hospital id).  The
    ``version`` is a content hash, so indexing the same content again is a no-op and
    any edit produces a new version.
    """

    id: str
    title: str
    source_type: str
    text: str
    sections: tuple[Section, ...]
    url: str | None = None
    published: str | None = None
    language: str = "en"
    metadata: dict[str, Any] = field(default_factory=dict)
    pages: tuple[Page, ...] = ()  # a paged file's page spans (PDF), in page order; () for everything else

    @classmethod
    def from_sections(
        cls,
        *,
        id: str,
        title: str,
        source_type: str,
        sections: list[tuple[str, str]],
        url: str | None = None,
        published: str | None = None,
        language: str = "en",
        metadata: dict[str, Any] | None = None,
    ) -> Document:
        """Build a document from (heading, text) pairs; empty sections are dropped."""
        parts: list[str] = []
        spans: list[Section] = []
        cursor = 0
        for heading, body in sections:
            body = body.strip()
            if not body:
                continue
            if parts:
                cursor += len(SECTION_SEPARATOR)
            spans.append(Section(heading=heading.strip(), start=cursor, end=cursor + len(body)))
            parts.append(body)
            cursor += len(body)
        return cls(
            id=id,
            title=title.strip(),
            source_type=source_type,
            text=SECTION_SEPARATOR.join(parts),
            sections=tuple(spans),
            url=url,
            published=published,
            language=language,
            metadata=dict(metadata or {}),
        )

    @cached_property
    def version(self) -> str:
        """Content hash of everything that shapes what is indexed for this document."""
        payload = json.dumps(
            {
                "title": self.title,
                "source_type": self.source_type,
                "text": self.text,
                "sections": [[s.heading, s.start, s.end] for s in self.sections],
                "url": self.url,
                "published": self.published,
                "language": self.language,
                "metadata": self.metadata,
                # only a paged document carries pages, so the versions of every other document stay as they were
                **({"pages": [p.to_json() for p in self.pages]} if self.pages else {}),
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    @property
    def original(self) -> str | None:
        """sha256 of the original file the service keeps for this document (``metadata.file``), if any."""
        file = self.metadata.get("file")
        return file.get("sha256") if isinstance(file, dict) and isinstance(file.get("sha256"), str) else None

    def section_text(self, section: Section) -> str:
        return self.text[section.start : section.end]

    def to_json(self) -> dict[str, Any]:
        """The generic document format of CONTRACT.md (sections form)."""
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "source_type": self.source_type,
            "sections": [{"heading": s.heading, "text": self.section_text(s)} for s in self.sections],
            "language": self.language,
        }
        if self.url:
            out["url"] = self.url
        if self.published:
            out["published"] = self.published
        if self.metadata:
            out["metadata"] = self.metadata
        if self.pages:
            out["pages"] = [p.to_json() for p in self.pages]
        return out


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of one document version: ``doc.text[start:end] == text``."""

    doc_id: str
    version: str
    ordinal: int
    section: str
    start: int
    end: int
    text: str
    title: str
    source_type: str
    url: str | None = None
    published: str | None = None
    language: str = "en"
    pages: tuple[Page, ...] = ()  # the document's pages this chunk's text lies on (whole page spans)
    original: str | None = None  # sha256 of the document's original file, kept in the data dir, if any

    @cached_property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.version}#{self.ordinal}"

    @cached_property
    def point_id(self) -> str:
        """Deterministic UUID for vector stores (re-upserting is idempotent)."""
        return str(uuid.uuid5(_CHUNK_NAMESPACE, self.chunk_id))

    @cached_property
    def embed_text(self) -> str:
        """What the encoders see: title and section give a passage its context."""
        return f"{self.title}\n{self.section}\n{self.text}"

    @cached_property
    def text_hash(self) -> str:
        """Key of the embedding cache: the embedded text alone decides the vector."""
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()[:32]

    def payload(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "version": self.version,
            "ordinal": self.ordinal,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "title": self.title,
            "source_type": self.source_type,
            "url": self.url,
            "published": self.published,
            "language": self.language,
            "pages": [p.compact() for p in self.pages],
            "original": self.original,
        }

    def pages_of(self, start: int, end: int) -> tuple[Page, ...]:
        """The pages the span ``[start, end)`` of this chunk's document lies on."""
        return pages_within(self.pages, start, end)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Chunk:
        return cls(
            doc_id=payload["doc_id"],
            version=payload["version"],
            ordinal=int(payload["ordinal"]),
            section=payload["section"],
            start=int(payload["start"]),
            end=int(payload["end"]),
            text=payload["text"],
            title=payload["title"],
            source_type=payload["source_type"],
            url=payload.get("url"),
            published=payload.get("published"),
            language=payload.get("language", "en"),
            pages=tuple(Page.from_json(p) for p in payload.get("pages") or ()),
            original=payload.get("original"),
        )


def original_file_link(doc_id: str, page: int | None) -> str:
    """Where a permitted caller opens a document's original file (at the cited page of a paged one)."""
    return f"/v1/documents/{quote(doc_id, safe='/:')}/file" + (f"#page={page}" if page else "")


def point_id_for(chunk_id: str) -> str:
    return str(uuid.uuid5(_CHUNK_NAMESPACE, chunk_id))


@dataclass(frozen=True)
class SparseVec:
    """A sparse vector: term indices (uint32 hashes) and their weights."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class SearchFilters:
    """Filters pushed down into the stores (never applied after retrieval)."""

    source_type: tuple[str, ...] | None = None
    published_from: str | None = None  # ISO date, inclusive
    language: str | None = None
    doc_ids: tuple[str, ...] | None = None  # restrict to these documents (the graph channel's candidates)


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float


# -- what a search returns and an answer cites ------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelRank:
    """A passage's 1-based rank and raw score in one retrieval channel."""

    rank: int
    score: float

    def to_json(self) -> dict[str, float | int]:
        return {"rank": self.rank, "score": round(self.score, 6)}


@dataclass(frozen=True)
class GuidelineNote:
    """What a reader must see beside a guideline passage: who issued it and when, the grades of the
    recommendations the passage holds (as the guideline states them), and a caveat when it is superseded
    or older than the configured age."""

    developer: str
    year: int | None
    grades: tuple[str, ...] = ()
    caveat: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"developer": self.developer, "year": self.year, "grades": list(self.grades), "caveat": self.caveat}


@dataclass
class Hit:
    """One passage found by a search: the fused score, each channel's rank and score, the evidence prior and
    query-focus factors applied to it, and its dense similarity to the question (cosine of the question's and
    the passage's embeddings: the answer's relevance floor reads it, nothing re-encodes the passage)."""

    chunk: Chunk
    score: float
    channels: dict[str, ChannelRank] = field(default_factory=dict)
    prior: float = 1.0
    focus: float = 1.0  # the query-focus factor (retrieval/focus.py)
    similarity: float | None = None
    guideline: GuidelineNote | None = None  # for a guideline passage (retrieval/guidelines.py)


@dataclass(frozen=True)
class Citation:
    """A verbatim span of one evidence passage (``quote == document.text[start:end]`` of ``version``)."""

    n: int
    doc_id: str
    title: str
    url: str | None
    section: str
    start: int
    end: int
    quote: str
    source_type: str
    evidence_level: str
    published: str | None
    version: str
    chunk_id: str
    passage_start: int
    passage_end: int
    guideline: GuidelineNote | None = None
    pages: tuple[Page, ...] = ()  # the pages of the original file the quote lies on (paged documents)
    original: str | None = None  # sha256 of the original file the service keeps, if any

    @property
    def page(self) -> int | None:
        return self.pages[0].number if self.pages else None

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n, "doc_id": self.doc_id, "title": self.title, "url": self.url, "section": self.section,
            "start": self.start, "end": self.end, "quote": self.quote, "source_type": self.source_type,
            "evidence_level": self.evidence_level, "published": self.published, "version": self.version,
            "chunk_id": self.chunk_id, "passage": {"start": self.passage_start, "end": self.passage_end},
            "guideline": self.guideline.to_json() if self.guideline else None,
            "page": self.page, "page_end": self.pages[-1].number if self.pages else None,
            "page_label": page_label(self.pages), "ocr": any(p.ocr for p in self.pages),
            "file": original_file_link(self.doc_id, self.page) if self.original else None,
        }


@dataclass(frozen=True)
class AnswerClaim:
    """One sentence the generator wrote, with the evidence numbers it may cite once verified."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.citations), "supported": self.supported,
                "reason": self.reason}


@dataclass
class Answer:
    """A grounded answer as every interface returns it (CONTRACT.md's answer object)."""

    answer_id: str
    conversation_id: str
    mode: str
    degraded: bool
    abstain_reason: str | None
    abstain_case: str | None  # which abstention: unknown_name, no_label, aspect_not_addressed, … (None: answered)
    answer: str
    claims: list[AnswerClaim]
    citations: list[Citation]
    focus: dict[str, Any] | None  # what the question is about and asks (retrieval/question.py)
    related: list[dict[str, Any]]  # passages found but not about the question's subject: shown apart, not cited
    model: str
    settings_hash: str
    index_version: str
    prompt_version: str
    timings_ms: dict[str, float | None]
    usage: dict[str, int] | None = None
    reasoning: str | None = None
    # unsafe flags reviewers put on the evidence this answer cites (app/stores/reviews.py, ReviewStore.notes_for)
    review_notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def abstained(self) -> bool:
        return self.abstain_reason is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer_id": self.answer_id, "conversation_id": self.conversation_id, "mode": self.mode,
            "degraded": self.degraded, "abstained": self.abstained, "abstain_reason": self.abstain_reason,
            "abstain_case": self.abstain_case, "answer": self.answer,
            "claims": [c.to_json() for c in self.claims], "citations": [c.to_json() for c in self.citations],
            "focus": self.focus, "related": self.related, "model": self.model,
            "settings_hash": self.settings_hash, "index_version": self.index_version,
            "prompt_version": self.prompt_version, "timings_ms": self.timings_ms,
            "review_notes": self.review_notes,
        }
        if self.usage:
            out["usage"] = self.usage
        if self.reasoning is not None:
            out["reasoning"] = self.reasoning
        return out
