"""Answer traces: every answer with what produced it, for audit and replay.

SQLAlchemy Core over SQLite in the data dir by default; set ``traces_url`` to a PostgreSQL URL
(``postgresql+psycopg://…``) and the same table lives there.  A trace holds the question (and its
standalone rewrite), settings hash, index version, model, prompt version and prompt, the retrieved
candidates with their channel scores, the raw model output and reasoning, and the verification.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()
answers = sa.Table(
    "answers",
    metadata,
    sa.Column("answer_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),
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
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    def save(self, response: dict[str, Any], trace: dict[str, Any]) -> None:
        row = {
            "answer_id": response["answer_id"],
            "created_at": datetime.now(UTC),
            "conversation_id": response["conversation_id"],
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

    def conversation(self, conversation_id: str, limit: int = 6) -> list[dict[str, Any]]:
        """The last ``limit`` turns of a conversation, oldest first."""
        query = (
            sa.select(answers.c.question, answers.c.standalone_question, answers.c.response, answers.c.trace)
            .where(answers.c.conversation_id == conversation_id)
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
