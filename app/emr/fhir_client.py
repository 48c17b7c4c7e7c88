"""Reads from an EHR's FHIR server with the access token the EHR gave (CDS ``fhirAuthorization`` or a
SMART launch's token).

Only URLs on that server are read: a reference or paging link pointing elsewhere is refused, so the
token never travels to a host the EHR did not name.  Search results are followed through their
``next`` links up to a bound.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

MAX_PAGES = 10
_TOKEN = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


class FhirFetchError(RuntimeError):
    """The FHIR server could not be read (unreachable, refused, or answered with an error)."""


def render_template(template: str, context: dict[str, Any]) -> str | None:
    """A prefetch template with ``{{context.X}}`` filled in (URL-encoded); None when a token has no value."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = context.get(match.group(1))
        if not isinstance(value, str) or not value:
            missing = True
            return ""
        return quote(value, safe="/")

    rendered = _TOKEN.sub(fill, template)
    return None if missing else rendered


class FhirClient:
    def __init__(self, base_url: str, access_token: str | None, timeout_s: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise FhirFetchError("the FHIR server URL must be http(s)")
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/fhir+json"}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        self._http = httpx.Client(headers=headers, timeout=timeout_s, follow_redirects=False, transport=transport)
        self.requests = 0

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("https://", "http://")):
            if not path_or_url.startswith(self.base_url + "/"):
                raise FhirFetchError("refusing to send the EHR's token to a URL outside its FHIR server")
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def read(self, path_or_url: str) -> dict[str, Any]:
        """One GET; the JSON resource.  Errors name the status, never the URL (it may hold a patient id)."""
        self.requests += 1
        try:
            response = self._http.get(self._url(path_or_url))
        except httpx.HTTPError as exc:
            raise FhirFetchError(f"the FHIR server could not be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise FhirFetchError(f"the FHIR server answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise FhirFetchError("the FHIR server answered with something that is not JSON") from exc
        if not isinstance(body, dict):
            raise FhirFetchError("the FHIR server answered with something that is not a FHIR resource")
        return body

    def search(self, query: str) -> dict[str, Any]:
        """A search Bundle with every page's entries (up to ``MAX_PAGES``)."""
        bundle = self.read(query)
        entries = list(bundle.get("entry") or [])
        page = bundle
        for _ in range(MAX_PAGES - 1):
            following = next((link.get("url") for link in page.get("link") or []
                              if link.get("relation") == "next" and link.get("url")), None)
            if not following:
                break
            page = self.read(following)
            entries.extend(page.get("entry") or [])
        return {**bundle, "entry": entries, "link": [link for link in bundle.get("link") or []
                                                      if link.get("relation") != "next"]}

    def close(self) -> None:
        self._http.close()
