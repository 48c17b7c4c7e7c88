"""EMR panel sessions, held on the server: the browser only ever holds an opaque random id.

A session holds what a SMART launch granted (the FHIR server, the access token, the patient, the CDS
``appContext``) or, in demo mode, the synthetic patient's Bundle shipped with the package.  The id reaches
the page in the URL fragment (never sent to a server, never in a Referer), the page keeps it in
``sessionStorage`` and sends it as the ``X-MedEvidence-Panel`` header: no cookie, so no CSRF.

Sessions live in memory (thread-safe), expire after ``settings.emr_session_minutes`` (or sooner when the
access token does) and are lost on restart, when the clinician simply launches the panel again.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.emr.expiring import ExpiringStore
from app.emr.smart_launch import TokenGrant

HEADER = "X-MedEvidence-Panel"
DEMO_BUNDLE = Path(__file__).resolve().parent / "demo_bundle.json"
DEMO_PATIENT = "demo-patient"
DEMO_BANNER = "Demo patient (synthetic)"
MAX_SESSIONS = 5000


@lru_cache(maxsize=1)
def demo_bundle() -> dict[str, Any]:
    """The synthetic patient's FHIR R4 Bundle (no real person: every resource is tagged HTEST)."""
    data: dict[str, Any] = json.loads(DEMO_BUNDLE.read_text(encoding="utf-8"))
    return data


@dataclass
class PanelSession:
    id: str = field(repr=False)
    patient_id: str = field(repr=False)
    expires_at: float
    fhir_base: str | None = None
    access_token: str | None = field(default=None, repr=False)
    need_patient_banner: bool = False
    app_context: str | None = None
    demo: bool = False
    medications: tuple[str, ...] | None = None  # resolved drug names, kept from the latest context read
    # (reviewer id, name) when the session's user may review answers (docs/CONTRACT.md, Reviews): a launch whose
    # verified id_token names a fhirUser listed in settings.emr_reviewers (app/emr/id_token.py), or the demo session
    # in dev mode; None otherwise
    reviewer: tuple[str, str] | None = None
    answer_ids: set[str] = field(default_factory=set, repr=False)  # the answers asked in this session

    @property
    def bundle(self) -> dict[str, Any] | None:
        return demo_bundle() if self.demo else None


class PanelSessions:
    def __init__(self, minutes: int, capacity: int = MAX_SESSIONS) -> None:
        self.ttl_s = minutes * 60.0
        self._store: ExpiringStore[PanelSession] = ExpiringStore(capacity)

    def _add(self, session: PanelSession) -> PanelSession:
        self._store.put(session.id, session, session.expires_at)
        return session

    def from_grant(self, grant: TokenGrant, reviewer: tuple[str, str] | None = None) -> PanelSession:
        ttl = self.ttl_s if grant.expires_in is None else min(self.ttl_s, float(grant.expires_in))
        return self._add(PanelSession(
            id=secrets.token_urlsafe(32), patient_id=grant.patient, expires_at=time.monotonic() + ttl,
            fhir_base=grant.iss, access_token=grant.access_token, need_patient_banner=grant.need_patient_banner,
            app_context=grant.app_context, reviewer=reviewer))

    def demo(self, reviewer: tuple[str, str] | None = None) -> PanelSession:
        return self._add(PanelSession(id=secrets.token_urlsafe(32), patient_id=DEMO_PATIENT,
                                      expires_at=time.monotonic() + self.ttl_s, need_patient_banner=True, demo=True,
                                      reviewer=reviewer))

    def get(self, session_id: str | None) -> PanelSession | None:
        """The live session with this id; None when missing, unknown or expired."""
        if not session_id or len(session_id) > 128:
            return None
        return self._store.get(session_id)

    def __len__(self) -> int:
        return len(self._store)
