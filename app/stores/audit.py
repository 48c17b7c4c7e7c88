"""The audit store: every CDS Hooks call, every card it returned, the clinician's feedback, and every read of an
answer trace by an admin or a reviewer who is not its owner.

SQLAlchemy Core in the same database as the answer traces (SQLite in the data dir, PostgreSQL through
``traces_url``).  Patients and users appear only as keyed pseudonyms (``app.emr.pseudonym``); a card
keeps its drugs, severity and cited documents so an override can be reviewed against what was shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()
cds_calls = sa.Table(
    "cds_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hook_instance", sa.String(100), nullable=False, index=True),  # a client may retry one instance
    sa.Column("service_id", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("hook", sa.String(50), nullable=False),
    sa.Column("client", sa.String(300), nullable=False),  # the JWT issuer, or "dev-mode"
    sa.Column("patient", sa.String(40)),  # pseudonym
    sa.Column("user", sa.String(40)),  # pseudonym
    sa.Column("fhir_fetches", sa.Integer, nullable=False),
    sa.Column("cards", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),  # resolved / unresolved medication names, index version
)
cds_cards = sa.Table(
    "cds_cards",
    metadata,
    sa.Column("card_uuid", sa.String(64), primary_key=True),
    sa.Column("service_id", sa.String(100), nullable=False, index=True),
    sa.Column("hook_instance", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("indicator", sa.String(10), nullable=False),
    sa.Column("summary", sa.String(200), nullable=False),
    sa.Column("card", sa.JSON, nullable=False),
)
cds_feedback = sa.Table(
    "cds_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("card_uuid", sa.String(64), nullable=False, index=True),
    sa.Column("service_id", sa.String(100), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("client", sa.String(300), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("outcome_timestamp", sa.String(40), nullable=False),
    sa.Column("accepted_suggestions", sa.JSON, nullable=False),
    sa.Column("override_reason", sa.JSON),
)

trace_reads = sa.Table(
    "trace_reads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reader", sa.String(200), nullable=False),  # the admin's or reviewer's key id or oidc:<subject>
    sa.Column("owner", sa.String(200)),  # who asked (None: an answer from before owners were recorded)
    sa.Column("answer_id", sa.String(64), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),  # read | replay | review | review_read | review_list
)


class AuditStore:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    def record_call(self, call: dict[str, Any], cards: list[dict[str, Any]]) -> None:
        """One CDS call and the cards it returned, in one transaction."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(cds_calls.insert().values(created_at=now, cards=len(cards), **call))
            for card in cards:
                conn.execute(cds_cards.insert().values(
                    card_uuid=card["uuid"], service_id=call["service_id"], hook_instance=call["hook_instance"],
                    created_at=now, indicator=card["indicator"], summary=card["summary"], card=card))

    def known_cards(self, service_id: str, card_uuids: list[str]) -> set[str]:
        query = sa.select(cds_cards.c.card_uuid).where(
            cds_cards.c.service_id == service_id, cds_cards.c.card_uuid.in_(card_uuids))
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(query)}

    def record_feedback(self, service_id: str, client: str, items: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for item in items:
                conn.execute(cds_feedback.insert().values(
                    card_uuid=item["card"], service_id=service_id, received_at=now, client=client,
                    outcome=item["outcome"], outcome_timestamp=item["outcomeTimestamp"],
                    accepted_suggestions=item.get("acceptedSuggestions") or [],
                    override_reason=item.get("overrideReason")))

    def feedback_of(self, card_uuid: str) -> list[dict[str, Any]]:
        query = sa.select(cds_feedback).where(cds_feedback.c.card_uuid == card_uuid).order_by(cds_feedback.c.id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def record_trace_read(self, reader: str, owner: str | None, answer_id: str, action: str) -> None:
        """An admin or a reviewer read (or replayed, or reviewed) an answer trace that another caller owns."""
        with self.engine.begin() as conn:
            conn.execute(trace_reads.insert().values(at=datetime.now(UTC), reader=reader, owner=owner,
                                                     answer_id=answer_id, action=action))

    def record_trace_reads(self, reader: str, reads: list[tuple[str | None, str]], action: str) -> None:
        """Several reads at once (``(owner, answer_id)``): a reviewer's list of answers it did not ask."""
        if not reads:
            return
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(trace_reads.insert(), [{"at": now, "reader": reader, "owner": owner, "answer_id": answer_id,
                                                 "action": action} for owner, answer_id in reads])

    def trace_reads_of(self, answer_id: str) -> list[dict[str, Any]]:
        query = sa.select(trace_reads).where(trace_reads.c.answer_id == answer_id).order_by(trace_reads.c.id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def calls(self, limit: int = 100) -> list[dict[str, Any]]:
        query = sa.select(cds_calls).order_by(cds_calls.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete calls, cards, feedback and trace reads older than ``before`` (retention); rows removed per table."""
        removed = {}
        with self.engine.begin() as conn:
            for table, column in ((cds_feedback, cds_feedback.c.received_at), (cds_cards, cds_cards.c.created_at),
                                  (cds_calls, cds_calls.c.created_at), (trace_reads, trace_reads.c.at)):
                removed[table.name] = int(conn.execute(table.delete().where(column < before)).rowcount or 0)
        return removed

    def close(self) -> None:
        self.engine.dispose()
