"""Clinician reviews of answers: verdicts, reasons, corrected texts, their resolution and their whole history.

SQLAlchemy Core in the same database as the answer traces (SQLite in the data dir, PostgreSQL through
``traces_url``).  Three tables:

* ``reviews`` — one row per review, its current state: the reviewed answer (``answer_id`` and a snapshot of what
  was reviewed: question, answer text, citations, evidence; a review outlives the trace's retention), the reviewer
  (caller id and name), ``verdict`` (``correct`` | ``incorrect`` | ``unsafe``), ``reason``, an optional corrected
  text with its verified citations, ``status`` (``open`` | ``resolved``) and the resolution (who, when, note,
  ``outcome``: ``confirmed`` — the flag stands — or ``dismissed``).
* ``review_history`` — append-only: every creation, revision and resolution with the state it left, who and when.
  Nothing is ever updated or deleted there: the audit trail of a review.
* ``review_evidence`` — the evidence keys of each review's answer (document, version, span, chunk; ``cited``: a
  span an answer citation quotes, else a passage the answer was given), indexed by document and version, so that a
  later answer drawing on the same evidence finds the ``unsafe`` flags on it cheaply (``notes_for``).

Rules kept here: a review is revised only by its author (``ReviewForbidden`` for anyone else); a ``correct``
verdict is resolved at once (nothing to act on), ``incorrect`` and ``unsafe`` stay ``open`` until a reviewer
resolves them; a revision reopens a resolved flag (a new verdict is a new assessment).  Who may call what is the
API's rule (``app/api/reviews.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

VERDICTS = ("correct", "incorrect", "unsafe")
STATUSES = ("open", "resolved")
OUTCOMES = ("confirmed", "dismissed")
SEVERITY = {"correct": 0, "incorrect": 1, "unsafe": 2}

metadata = sa.MetaData()
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("review_id", sa.String(32), primary_key=True),
    sa.Column("answer_id", sa.String(64), nullable=False, index=True),
    sa.Column("reviewer", sa.String(200), nullable=False, index=True),  # key id or oidc:<subject>
    sa.Column("reviewer_name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("corrected", sa.JSON),  # {"text", "claims", "citations"} or null
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("resolved_by_name", sa.String(200)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolution", sa.Text),
    sa.Column("outcome", sa.String(16)),
    sa.Column("answer", sa.JSON, nullable=False),  # the snapshot of what was reviewed
)
review_history = sa.Table(
    "review_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("review_id", sa.String(32), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("by_name", sa.String(200), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # created | revised | resolved
    sa.Column("state", sa.JSON, nullable=False),  # verdict, reason, corrected, status, resolution after the action
)
review_evidence = sa.Table(
    "review_evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("review_id", sa.String(32), nullable=False, index=True),
    sa.Column("doc_id", sa.String(256), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("span_start", sa.Integer, nullable=False),
    sa.Column("span_end", sa.Integer, nullable=False),
    sa.Column("chunk_id", sa.String(400)),
    sa.Column("cited", sa.Boolean, nullable=False),
    sa.Index("ix_review_evidence_doc_version", "doc_id", "version"),
)


class ReviewError(Exception):
    """A review request the rules refuse; ``status`` and ``field`` as the API reports them."""

    status = 400

    def __init__(self, message: str, field: str | None = "review_id") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ReviewNotFound(ReviewError):
    status = 404


class ReviewForbidden(ReviewError):
    status = 403


class ReviewConflict(ReviewError):
    status = 409


def answer_snapshot(trace: dict[str, Any]) -> dict[str, Any]:
    """What a review keeps of the answer it judges (from its trace, ``TraceStore.get``): enough to read, list,
    export and match it after the trace itself is gone."""
    response = trace.get("response") or {}
    return {
        "answer_id": trace["answer_id"], "created_at": trace.get("created_at"), "asker": trace.get("caller"),
        "conversation_id": trace.get("conversation_id"), "question": trace.get("question", ""),
        "standalone_question": trace.get("standalone_question", ""), "answer": response.get("answer", ""),
        "abstained": bool(response.get("abstained")), "abstain_case": response.get("abstain_case"),
        "mode": response.get("mode"), "model": response.get("model"), "index_version": trace.get("index_version"),
        "citations": list(response.get("citations") or []), "evidence": list(trace.get("evidence") or []),
    }


def _evidence_rows(review_id: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"review_id": review_id, "doc_id": c["doc_id"], "version": c["version"], "span_start": c["start"],
             "span_end": c["end"], "chunk_id": c.get("chunk_id"), "cited": True} for c in answer["citations"]]
    rows += [{"review_id": review_id, "doc_id": e["doc_id"], "version": e["version"], "span_start": e["start"],
              "span_end": e["end"], "chunk_id": e.get("chunk_id"), "cited": False} for e in answer["evidence"]]
    return rows


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _state(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in ("verdict", "reason", "corrected", "status", "resolution", "outcome")}


class ReviewStore:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    # -- writing ---------------------------------------------------------------------------------
    def create(self, answer: dict[str, Any], reviewer: str, reviewer_name: str, verdict: str, reason: str,
               corrected: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new review of ``answer`` (``answer_snapshot``); one per reviewer and answer (``ReviewConflict``)."""
        _check(verdict, reason)
        now = datetime.now(UTC)
        review_id = uuid.uuid4().hex
        row: dict[str, Any] = {
            "review_id": review_id, "answer_id": answer["answer_id"], "reviewer": reviewer,
            "reviewer_name": reviewer_name or reviewer, "created_at": now, "updated_at": now, "revision": 1,
            "verdict": verdict, "reason": reason, "corrected": corrected, "answer": answer,
            **_status_for(verdict, reviewer, reviewer_name or reviewer, now),
        }
        with self.engine.begin() as conn:
            mine = conn.execute(sa.select(reviews.c.review_id).where(
                reviews.c.answer_id == answer["answer_id"], reviews.c.reviewer == reviewer)).first()
            if mine is not None:
                raise ReviewConflict(f"you have already reviewed this answer (review {mine[0]}); revise that review "
                                     f"with POST /v1/reviews/{mine[0]}/revisions", "answer_id")
            conn.execute(reviews.insert().values(**row))
            conn.execute(review_history.insert().values(review_id=review_id, revision=1, at=now, by=reviewer,
                                                        by_name=row["reviewer_name"], action="created",
                                                        state=_state(row)))
            rows = _evidence_rows(review_id, answer)
            if rows:
                conn.execute(review_evidence.insert(), rows)
        return self.get(review_id) or {}

    def revise(self, review_id: str, by: str, by_name: str, verdict: str, reason: str,
               corrected: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new revision of one's own review (the earlier ones stay in the history)."""
        _check(verdict, reason)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(reviews).where(reviews.c.review_id == review_id)).mappings().first()
            if current is None:
                raise ReviewNotFound(f"no review {review_id!r}")
            if current["reviewer"] != by:
                raise ReviewForbidden(f"review {review_id} is {current['reviewer_name']}'s: only its author revises "
                                      "it; add your own review of the answer instead")
            revision = current["revision"] + 1
            values = {"revision": revision, "updated_at": now, "verdict": verdict, "reason": reason,
                      "corrected": corrected, **_status_for(verdict, by, by_name or by, now)}
            done = conn.execute(reviews.update().where(reviews.c.review_id == review_id,
                                                       reviews.c.revision == current["revision"]).values(**values))
            if not done.rowcount:
                raise ReviewConflict(f"review {review_id} changed meanwhile; read it again")
            conn.execute(review_history.insert().values(review_id=review_id, revision=revision, at=now, by=by,
                                                        by_name=by_name or by, action="revised",
                                                        state=_state(values)))
        return self.get(review_id) or {}

    def resolve(self, review_id: str, by: str, by_name: str, note: str, outcome: str = "confirmed"
                ) -> dict[str, Any]:
        """Close an open flag: ``confirmed`` (it stands: later answers on its evidence still show an unsafe note)
        or ``dismissed`` (the reviewer found the answer fine after all)."""
        if outcome not in OUTCOMES:
            raise ReviewError(f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}", "outcome")
        if not note.strip():
            raise ReviewError("a resolution needs a note: what was done", "note")
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(reviews).where(reviews.c.review_id == review_id)).mappings().first()
            if current is None:
                raise ReviewNotFound(f"no review {review_id!r}")
            if current["status"] != "open":
                raise ReviewConflict(f"review {review_id} is already resolved; a revision by its author reopens it")
            values = {"status": "resolved", "resolved_by": by, "resolved_by_name": by_name or by, "resolved_at": now,
                      "resolution": note, "outcome": outcome, "updated_at": now}
            done = conn.execute(reviews.update().where(reviews.c.review_id == review_id,
                                                       reviews.c.revision == current["revision"],
                                                       reviews.c.status == "open").values(**values))
            if not done.rowcount:
                raise ReviewConflict(f"review {review_id} changed meanwhile; read it again")
            conn.execute(review_history.insert().values(
                review_id=review_id, revision=current["revision"], at=now, by=by, by_name=by_name or by,
                action="resolved", state=_state({**dict(current), **values})))
        return self.get(review_id) or {}

    # -- reading ---------------------------------------------------------------------------------
    def get(self, review_id: str, history: bool = True) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(reviews).where(reviews.c.review_id == review_id)).mappings().first()
            if row is None:
                return None
            out = _review_json(dict(row))
            if history:
                out["history"] = self._history(conn, [review_id]).get(review_id, [])
        return out

    def of_answer(self, answer_id: str) -> list[dict[str, Any]]:
        """Every review of an answer, oldest first, each with its history."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(reviews).where(reviews.c.answer_id == answer_id)
                                .order_by(reviews.c.created_at)).mappings().all()
            found = [_review_json(dict(r)) for r in rows]
            histories = self._history(conn, [r["review_id"] for r in found])
        for review in found:
            review["history"] = histories.get(review["review_id"], [])
        return found

    def find(self, reviewer: str, answer_id: str) -> str | None:
        """The id of ``reviewer``'s review of ``answer_id``, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(reviews.c.review_id).where(
                reviews.c.answer_id == answer_id, reviews.c.reviewer == reviewer)).first()
        return None if row is None else str(row[0])

    def listing(self, status: str | None = None, verdict: str | None = None, reviewer: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Reviews by last change, newest first, filtered, each with its history; and how many match in all."""
        where = [c for c in (reviews.c.status == status if status else None,
                             reviews.c.verdict == verdict if verdict else None,
                             reviews.c.reviewer == reviewer if reviewer else None) if c is not None]
        query = sa.select(reviews).where(*where).order_by(reviews.c.updated_at.desc(), reviews.c.review_id)
        with self.engine.connect() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(reviews).where(*where)).scalar() or 0)
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
            found = [_review_json(dict(r)) for r in rows]
            histories = self._history(conn, [r["review_id"] for r in found])
        for review in found:
            review["history"] = histories.get(review["review_id"], [])
        return found, total

    def export(self, status: str | None = None, verdict: str | None = None) -> list[dict[str, Any]]:
        """Every review (filtered), oldest first, with its history: what ``medevidence reviews export`` groups."""
        where = [c for c in (reviews.c.status == status if status else None,
                             reviews.c.verdict == verdict if verdict else None) if c is not None]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(reviews).where(*where).order_by(reviews.c.created_at)).mappings().all()
            found = [_review_json(dict(r)) for r in rows]
            histories = self._history(conn, [r["review_id"] for r in found])
        for review in found:
            review["history"] = histories.get(review["review_id"], [])
        return found

    def notes_for(self, citations: Sequence[dict[str, Any]], evidence: Sequence[dict[str, Any]] = ()
                  ) -> list[dict[str, Any]]:
        """The unsafe flags (open, or resolved and confirmed) on the evidence an answer draws on: a review whose
        answer cited a span of the same document version that one of ``citations`` overlaps, or — when that answer
        cited nothing — gave the same passage (chunk) as one of ``evidence``.  One note per review, most recent
        first; ``evidence`` of a note: the answer's citations (``n``) that overlap the flagged spans."""
        if not citations:
            return []
        docs = sorted({c["doc_id"] for c in citations})
        chunks = {e.get("chunk_id") for e in evidence if e.get("chunk_id")}
        query = (sa.select(review_evidence, reviews.c.answer_id, reviews.c.reviewer_name, reviews.c.reason,
                           reviews.c.updated_at, reviews.c.status, reviews.c.verdict, reviews.c.corrected,
                           reviews.c.outcome)
                 .join(reviews, reviews.c.review_id == review_evidence.c.review_id)
                 .where(review_evidence.c.doc_id.in_(docs), reviews.c.verdict == "unsafe",
                        sa.or_(reviews.c.outcome.is_(None), reviews.c.outcome != "dismissed")))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        cited_reviews = {r["review_id"] for r in rows if r["cited"]}
        notes: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["cited"]:
                hits = [c for c in citations if c["doc_id"] == r["doc_id"] and c["version"] == r["version"]
                        and c["start"] < r["span_end"] and r["span_start"] < c["end"]]
            elif r["review_id"] not in cited_reviews and r["chunk_id"] in chunks:
                hits = [c for c in citations if c.get("chunk_id") == r["chunk_id"]]
            else:
                continue
            if not hits:
                continue
            note = notes.setdefault(r["review_id"], {
                "review_id": r["review_id"], "verdict": r["verdict"], "note": r["reason"],
                "reviewer": r["reviewer_name"], "reviewed_at": _iso(r["updated_at"]), "answer_id": r["answer_id"],
                "status": r["status"], "corrected_text": (r["corrected"] or {}).get("text"), "evidence": []})
            for c in hits:
                key = {"n": c.get("n"), "doc_id": c["doc_id"], "version": c["version"], "start": r["span_start"],
                       "end": r["span_end"]}
                if key not in note["evidence"]:
                    note["evidence"].append(key)
        return sorted(notes.values(), key=lambda n: n["reviewed_at"] or "", reverse=True)

    @staticmethod
    def _history(conn: sa.Connection, review_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        ids = list(review_ids)
        if not ids:
            return {}
        rows = conn.execute(sa.select(review_history).where(review_history.c.review_id.in_(ids))
                            .order_by(review_history.c.id)).mappings().all()
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["review_id"], []).append({
                "revision": r["revision"], "at": _iso(r["at"]), "by": r["by"], "by_name": r["by_name"],
                "action": r["action"], **r["state"]})
        return out

    def close(self) -> None:
        self.engine.dispose()


def _check(verdict: str, reason: str) -> None:
    if verdict not in VERDICTS:
        raise ReviewError(f"must be one of {', '.join(VERDICTS)}, got {verdict!r}", "verdict")
    if verdict != "correct" and not reason.strip():
        raise ReviewError(f"an {verdict} verdict needs a reason", "reason")


def _status_for(verdict: str, by: str, by_name: str, now: datetime) -> dict[str, Any]:
    """A ``correct`` verdict asks nothing of anyone: resolved at once (``confirmed``) by its reviewer; a flag is
    open until a reviewer resolves it."""
    if verdict == "correct":
        return {"status": "resolved", "resolved_by": by, "resolved_by_name": by_name, "resolved_at": now,
                "resolution": "marked correct", "outcome": "confirmed"}
    return {"status": "open", "resolved_by": None, "resolved_by_name": None, "resolved_at": None,
            "resolution": None, "outcome": None}


def _review_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "review_id": row["review_id"], "answer_id": row["answer_id"], "reviewer": row["reviewer"],
        "reviewer_name": row["reviewer_name"], "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]), "revision": row["revision"], "verdict": row["verdict"],
        "reason": row["reason"], "corrected": row["corrected"], "status": row["status"],
        "resolved_by": row["resolved_by"], "resolved_by_name": row["resolved_by_name"],
        "resolved_at": _iso(row["resolved_at"]), "resolution": row["resolution"], "outcome": row["outcome"],
        "answer": row["answer"],
    }


def evaluation_rows(found: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One evaluation row per reviewed answer (``ReviewStore.export``'s reviews grouped by answer, in order of first
    review): the question, the answer as it was, its citations and evidence ids, every review, and the verdict the
    reviews give together — the most severe of them, a dismissed flag counting as ``correct``.  ``gold``: the
    documents a right answer cites (the latest corrected text's, else a correct answer's own), for the retrieval
    benchmarks' ``{"id", "query", "gold"}`` reading; empty when no review says what is right."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for review in found:
        grouped.setdefault(review["answer_id"], []).append(review)
    rows = []
    for answer_id, group in grouped.items():
        answer = group[0]["answer"]
        judged = [("correct" if r["outcome"] == "dismissed" else r["verdict"], r) for r in group]
        verdict, top = max(judged, key=lambda pair: SEVERITY[pair[0]])
        corrected = next((r["corrected"] for r in sorted(group, key=lambda r: r["updated_at"] or "", reverse=True)
                          if r["corrected"]), None)
        citations = [{key: c.get(key) for key in ("n", "doc_id", "version", "start", "end", "quote", "chunk_id",
                                                   "title", "section")} for c in answer.get("citations", [])]
        gold_from = corrected["citations"] if corrected else citations if verdict == "correct" else []
        rows.append({
            "id": answer_id, "query": answer.get("question", ""), "question": answer.get("question", ""),
            "standalone_question": answer.get("standalone_question", ""), "answer": answer.get("answer", ""),
            "abstained": answer.get("abstained", False), "abstain_case": answer.get("abstain_case"),
            "mode": answer.get("mode"), "model": answer.get("model"), "index_version": answer.get("index_version"),
            "answered_at": answer.get("created_at"), "citations": citations,
            "evidence_ids": [e.get("chunk_id") for e in answer.get("evidence", [])],
            "verdict": verdict, "reason": top["reason"] if top["outcome"] != "dismissed" else top["resolution"],
            "corrected_text": corrected["text"] if corrected else None,
            "corrected_citations": corrected["citations"] if corrected else [],
            "gold": list(dict.fromkeys(c["doc_id"] for c in gold_from)),
            "reviews": [{key: r[key] for key in (
                "review_id", "revision", "verdict", "reason", "reviewer", "reviewer_name", "created_at", "updated_at",
                "status", "outcome", "resolved_by_name", "resolved_at", "resolution")}
                | {"corrected_text": (r["corrected"] or {}).get("text"),
                   "corrected_citations": (r["corrected"] or {}).get("citations", [])} for r in group],
        })
    return rows
