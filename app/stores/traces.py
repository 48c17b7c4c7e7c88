"""Answer traces: every answer with what produced it, for audit and replay.

SQLAlchemy Core over SQLite in the data dir by default; set ``traces_url`` to a PostgreSQL URL
(``postgresql+psycopg://…``) and the same table lives there.  A trace holds the question (and its
standalone rewrite), settings hash, index version, model, prompt version and prompt, the retrieved
candidates with their channel scores, the raw model output and reasoning, and the verification.

Every answer belongs to its caller (the API key id or ``oidc:<subject>`` that asked, ``caller``): a trace and a
conversation are read through their owner (``owner_of``, ``conversation_owner``); who may read what is the
API's rule (``app/api/ask.py``).  Answers stored before callers were recorded have none: only an admin reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.text.redaction import redact_trace

metadata = sa.MetaData()
answers = sa.Table(
    "answers",
    metadata,
    sa.Column("answer_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
    sa.Column("caller", sa.String(200), nullable=True, index=True),  # who asked: key id or oidc:<subject>
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("standalone_question", sa.Text, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("settings_hash", sa.String(32), nullable=False),
    sa.Column("index_version", sa.String(100), nullable=False),
    sa.Column("prompt_version", sa.String(32), nullable=False),
    sa.Column("abstained", sa.Boolean, nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("trace", sa.JSON, nullable=False),
)


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'traces.sqlite').resolve()}"


class TraceStore:
    def __init__(self, url: str, redactor: Callable[[str], str] | None = None) -> None:
        """``redactor``: applied to the question-bearing parts of a trace before it is written (redaction.py)."""
        self.engine = sa.create_engine(url, future=True)
        self.redactor = redactor
        metadata.create_all(self.engine)
        self._add_caller_column()

    def _add_caller_column(self) -> None:
        """A table made before answers had owners gains the column (its old rows: no owner, admins only)."""
        if "caller" in {c["name"] for c in sa.inspect(self.engine).get_columns("answers")}:
            return
        with self.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE answers ADD COLUMN caller VARCHAR(200)"))

    def save(self, response: dict[str, Any], trace: dict[str, Any]) -> None:
        if self.redactor is not None:
            trace = redact_trace(trace, self.redactor)
        row = {
            "answer_id": response["answer_id"],
            "created_at": datetime.now(UTC),
            "conversation_id": response["conversation_id"],
            "caller": trace.get("caller"),
            "question": trace["question"],
            "standalone_question": trace["standalone_question"],
            "mode": response["mode"],
            "model": response["model"],
            "settings_hash": response["settings_hash"],
            "index_version": response["index_version"],
            "prompt_version": response["prompt_version"],
            "abstained": response["abstained"],
            "response": response,
            "trace": trace,
        }
        with self.engine.begin() as conn:
            conn.execute(answers.insert().values(**row))

    def get(self, answer_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(answers).where(answers.c.answer_id == answer_id)).mappings().first()
        if row is None:
            return None
        return {
            "answer_id": row["answer_id"],
            "created_at": row["created_at"].isoformat(),
            **{key: row[key] for key in ("conversation_id", "question", "standalone_question", "mode", "model",
                                         "settings_hash", "index_version", "prompt_version", "abstained")},
            "response": row["response"],
            **row["trace"],
        }

    def owner_of(self, answer_id: str) -> tuple[bool, str | None]:
        """(whether the answer exists, who asked it)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(answers.c.caller).where(answers.c.answer_id == answer_id)).first()
        return (False, None) if row is None else (True, row[0])

    def conversation_owner(self, conversation_id: str) -> tuple[bool, str | None]:
        """(whether the conversation has turns, who asked its first turn)."""
        query = (sa.select(answers.c.caller).where(answers.c.conversation_id == conversation_id)
                 .order_by(answers.c.created_at).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (False, None) if row is None else (True, row[0])

    def conversation(self, conversation_id: str, caller: str | None, limit: int = 6) -> list[dict[str, Any]]:
        """The last ``limit`` turns of a conversation that ``caller`` asked, oldest first."""
        query = (
            sa.select(answers.c.question, answers.c.standalone_question, answers.c.response, answers.c.trace)
            .where(answers.c.conversation_id == conversation_id)
            .where(answers.c.caller.is_(None) if caller is None else answers.c.caller == caller)
            .order_by(answers.c.created_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {"question": r["question"], "standalone_question": r["standalone_question"],
             "answer": r["response"].get("answer", ""), "entities": r["trace"].get("entities", [])}
            for r in reversed(rows)
        ]

    def purge(self, before: datetime) -> int:
        """Delete answers created before ``before`` (retention); the number removed."""
        with self.engine.begin() as conn:
            return int(conn.execute(answers.delete().where(answers.c.created_at < before)).rowcount or 0)

    def close(self) -> None:
        self.engine.dispose()
