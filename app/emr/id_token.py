"""Who launched the EMR panel: the OpenID Connect ``id_token`` of a SMART EHR launch, verified, and its ``fhirUser``.

The panel asks for ``openid fhirUser``; the EHR's token response then carries an ``id_token`` (SMART App Launch
2.x, "Scopes for requesting identity data").  It is trusted only when all of OpenID Connect Core §3.1.3.7 that
applies to a code-flow client without a nonce holds:

- signed with an asymmetric algorithm (``app.auth_oidc.ALGORITHMS``: never ``none`` nor a shared-secret HS*) by a
  key of the EHR's JWK Set (``jwks_uri`` of its smart-configuration; by ``kid``, or its only signing key when the
  token names none).  A ``jku``/``x5u`` header is never followed.  Keys are cached per issuer for an hour; a
  ``kid`` not in the cache fetches the set again, so a rotated key works at once (the same unknown kid at most
  every ``REFRESH_MIN_S``: an EHR signing with a key it does not publish is not asked on every launch);
- ``iss`` is exactly the smart-configuration's ``issuer`` (the launch's FHIR base when it names none);
- ``aud`` contains our client id (and ``azp``, when present, is it); ``exp`` is in the future and ``iat`` not, with
  ``LEEWAY_S``; ``iss``, ``sub``, ``aud``, ``exp`` and ``iat`` are present;
- ``at_hash``, when present, matches the access token of the same response.

``fhirUser`` is the user's FHIR resource (``Practitioner/123``, absolute or relative to the FHIR base: SMART 2.x);
``reviewer_for`` matches it against ``settings.emr_reviewers``.  The token itself is never stored nor logged;
messages name the check that failed, never the token.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from app.auth_oidc import ALGORITHMS
from app.config import EMR_REVIEWER

LEEWAY_S = 30
KEYS_LIFESPAN_S = 3600.0
REFRESH_MIN_S = 10.0
MAX_NAME_CHARS = 200
MAX_REVIEWER_ID_CHARS = 200  # the reviews table's reviewer column
#: ``Type/id``: a FHIR resource type and a FHIR id (the relative form of a reference)
RELATIVE_REFERENCE = re.compile(r"^[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}$")
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


class IdTokenError(Exception):
    """The id_token (or the keys to check it) cannot be trusted; the message names why, never the token."""


@dataclass(frozen=True)
class EhrUser:
    """The verified user of a launch: the OpenID issuer and subject, the FHIR resource, a display name."""

    issuer: str
    subject: str
    fhir_user: str | None  # as the EHR gave it (absolute or relative)
    name: str | None


@dataclass(frozen=True)
class _Key:
    kid: str | None
    alg: str | None  # as the JWK declares it (a key that declares one is used with that one only)
    kty: str
    crv: str | None
    key: Any


class EhrKeys:
    """The JWK Sets of the EHRs' OpenID issuers, cached per issuer; fetched with the launcher's HTTP client."""

    def __init__(self, client: Callable[[], httpx.Client], lifespan_s: float = KEYS_LIFESPAN_S,
                 refresh_min_s: float = REFRESH_MIN_S) -> None:
        self._client = client
        self._lifespan_s = lifespan_s
        self._refresh_min_s = refresh_min_s
        self._sets: dict[str, tuple[str, float, list[_Key]]] = {}  # issuer -> (jwks_uri, fetched, keys)
        self._forced: dict[tuple[str, str], float] = {}  # (issuer, kid) -> when that kid last made us read again
        self._lock = threading.Lock()

    def signing_key(self, issuer: str, jwks_uri: str, kid: str | None, alg: str) -> Any:
        """The key to check a token of ``issuer`` signed with ``alg`` (by ``kid``, or the only such key)."""
        keys = self._keys(issuer, jwks_uri, force=False)
        found = _pick(keys, kid, alg)
        if found is None and kid is not None and self._may_refresh(issuer, kid):  # a key rotated in since the fetch
            found = _pick(self._keys(issuer, jwks_uri, force=True), kid, alg)
        if found is None:
            raise IdTokenError(f"no key {kid!r} for {alg} in the EHR's JWK Set" if kid else
                               f"the id_token names no kid and the EHR's JWK Set has not exactly one {alg} key")
        return found.key

    def _may_refresh(self, issuer: str, kid: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for seen, at in list(self._forced.items()):
                if now - at >= self._refresh_min_s:
                    del self._forced[seen]
            if (issuer, kid) in self._forced:
                return False
            self._forced[(issuer, kid)] = now
        return True

    def _keys(self, issuer: str, jwks_uri: str, force: bool) -> list[_Key]:
        with self._lock:
            cached = self._sets.get(issuer)
        if cached is not None and not force and cached[0] == jwks_uri \
                and time.monotonic() - cached[1] < self._lifespan_s:
            return cached[2]
        keys = self._fetch(jwks_uri)
        with self._lock:
            self._sets[issuer] = (jwks_uri, time.monotonic(), keys)
        return keys

    def _fetch(self, jwks_uri: str) -> list[_Key]:
        try:
            with self._client() as http:
                response = http.get(jwks_uri, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise IdTokenError(f"the EHR's JWK Set could not be read ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise IdTokenError(f"the EHR's JWK Set answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        entries = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise IdTokenError("the EHR's JWK Set is not a JSON object with keys")
        keys: list[_Key] = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("kty") not in ("RSA", "EC"):
                continue  # encryption keys and shared secrets (oct) never check a signature here
            declared = entry.get("alg")
            if declared is not None and declared not in ALGORITHMS:
                continue
            try:
                parsed = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key this library cannot use: as if absent
            kid, crv = entry.get("kid"), entry.get("crv")
            keys.append(_Key(kid if isinstance(kid, str) else None, declared, entry["kty"],
                             crv if isinstance(crv, str) else None, parsed.key))
        return keys


def _pick(keys: list[_Key], kid: str | None, alg: str) -> _Key | None:
    """The key named ``kid`` (or, without one, the only key) that can check ``alg``."""
    usable = [k for k in keys if _fits(k, alg)]
    if kid is not None:
        return next((k for k in usable if k.kid == kid), None)
    return usable[0] if len(usable) == 1 else None


def _fits(key: _Key, alg: str) -> bool:
    if key.alg is not None:
        return key.alg == alg
    if key.kty == "EC":
        return _CURVES.get(alg) == key.crv
    return key.kty == "RSA" and alg[:2] in ("RS", "PS")


def verify_id_token(token: str, keys: EhrKeys, issuer: str, jwks_uri: str, client_id: str,
                    access_token: str | None = None) -> EhrUser:
    """The user of a verified id_token (module docstring), or ``IdTokenError``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise IdTokenError(f"it is not a signed JWT ({type(exc).__name__})") from exc
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise IdTokenError(f"algorithm {str(alg)[:20]!r} is not accepted (an asymmetric signature is required: "
                           f"{', '.join(ALGORITHMS)})")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise IdTokenError("its kid is not a string")
    key = keys.signing_key(issuer, jwks_uri, kid, alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[alg], audience=client_id, issuer=issuer, leeway=LEEWAY_S,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iat": True})
    except jwt.PyJWTError as exc:
        raise IdTokenError(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise IdTokenError("its authorized party (azp) is another client")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise IdTokenError("its subject (sub) is not a string")
    at_hash = claims.get("at_hash")
    if at_hash is not None and access_token is not None and at_hash != token_hash(access_token, alg):
        raise IdTokenError("its at_hash does not match the access token")
    fhir_user = claims.get("fhirUser")
    return EhrUser(issuer=issuer, subject=claims["sub"],
                   fhir_user=fhir_user.strip() if isinstance(fhir_user, str) and fhir_user.strip() else None,
                   name=display_name(claims))


def token_hash(value: str, alg: str) -> str:
    """OIDC ``at_hash``: the left half of the hash ``alg`` uses, base64url without padding."""
    digest = _HASHES[alg[2:]](value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:len(digest) // 2]).rstrip(b"=").decode("ascii")


def display_name(claims: dict[str, Any]) -> str | None:
    """``name``, else given and family name, else ``preferred_username``; None when the token has none."""
    parts = [claims.get("name")], [claims.get("given_name"), claims.get("family_name")], \
        [claims.get("preferred_username")]
    for candidate in parts:
        text = " ".join(p.strip() for p in candidate if isinstance(p, str) and p.strip())
        if text:
            return text[:MAX_NAME_CHARS]
    return None


# -- who may review from the panel ----------------------------------------------------------------------------------
def user_references(fhir_user: str, fhir_base: str) -> set[str]:
    """The forms of ``fhir_user`` an ``emr_reviewers`` entry may name: the absolute URL, and ``Type/id`` when the
    resource is on this launch's FHIR server (``fhir_base``, without its trailing "/")."""
    if RELATIVE_REFERENCE.match(fhir_user):
        return {fhir_user, f"{fhir_base}/{fhir_user}"}
    if fhir_user.startswith(fhir_base + "/") and RELATIVE_REFERENCE.match(fhir_user[len(fhir_base) + 1:]):
        return {fhir_user, fhir_user[len(fhir_base) + 1:]}
    return {fhir_user} if EMR_REVIEWER.match(fhir_user) else set()


def reviewer_for(user: EhrUser | None, fhir_base: str, allowed: list[str]) -> tuple[str, str] | None:
    """(reviewer id, display name) when ``user``'s fhirUser is one of ``allowed``; None otherwise.

    The id is ``emr:<FHIR base>#<Type/id>`` (``emr:<absolute URL>`` for a resource on another server): stable
    across launches, and distinct between two EHRs whose ``Practitioner/123`` are different people."""
    if user is None or user.fhir_user is None:
        return None
    forms = user_references(user.fhir_user, fhir_base)
    if not forms & set(allowed):
        return None
    relative = next((f for f in forms if RELATIVE_REFERENCE.match(f)), None)
    reviewer = f"emr:{fhir_base}#{relative}" if relative else f"emr:{user.fhir_user}"
    if len(reviewer) > MAX_REVIEWER_ID_CHARS:
        reviewer = "emr:sha256:" + hashlib.sha256(reviewer.encode()).hexdigest()
    return reviewer, user.name or relative or user.fhir_user[:MAX_NAME_CHARS]
