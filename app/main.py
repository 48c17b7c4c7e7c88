"""``create_app(settings)``: the FastAPI application, with every client built once in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.answer.factory import close_asker
from app.api import ask, cds_hooks, documents, drugs, emr, health, reviews, search, web
from app.api.admission import Admission
from app.api.errors import install_error_handlers
from app.api.middleware import ServingMiddleware
from app.api.ratelimit import RateLimiter
from app.auth_oidc import OidcVerifier
from app.compose import open_asker, open_searcher
from app.config import Settings
from app.documents import DocumentIndexer
from app.drugs.service import DrugService
from app.emr.cds_service import CdsHooksService
from app.emr.client_jwt import CdsClientVerifier
from app.emr.panel_service import EmrPanel
from app.emr.pseudonym import Pseudonymizer
from app.observability.logs import quiet_third_party_loggers
from app.observability.metrics import Metrics
from app.observability.probes import index_probes
from app.observability.retention import purge_periodically
from app.recovery import Recovery
from app.runtime import Runtime

log = logging.getLogger("medevidence")


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    indexer_factory: Callable[[Runtime], DocumentIndexer] | None = None,
) -> FastAPI:
    """Build the app under ``settings``.  ``runtime`` may be passed in (tests, benchmarks): it must have been
    opened with these very settings (``Runtime.reconfigured`` makes one that shares an open index); else the
    runtime is opened at start, and closed at shutdown.

    ``indexer_factory`` is wired by the composition root (``app.cli``) so the API can write
    documents without the app package importing the indexers.
    """
    if runtime is not None and runtime.settings != settings:
        changed = sorted(k for k in Settings.model_fields if getattr(runtime.settings, k) != getattr(settings, k))
        raise ValueError(f"create_app: the runtime was opened with other settings ({', '.join(changed)}); "
                         "pass runtime.settings, or a runtime.reconfigured(...) one")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or Runtime.open(settings)
        app.state.runtime = rt
        app.state.keys = rt.keys
        app.state.indexer = indexer_factory(rt) if indexer_factory is not None else None
        # An interrupted index run left intents behind: replay them before any request is answered (recovery.py).
        pending = rt.manifest.counts()["pending"]
        app.state.recovery = (Recovery.start(pending, app.state.indexer.recover) if app.state.indexer is not None
                              else Recovery(pending=pending, error="no indexer to recover with")
                              if pending else Recovery.finished())
        app.state.searcher = open_searcher(rt)
        app.state.searcher.warm_up()
        app.state.searcher.channel_observers.append(metrics.observe_channel)
        app.state.asker = open_asker(rt, app.state.searcher)
        app.state.asker.warm_up()
        app.state.asker.answer_observers.append(metrics.observe_answer)
        metrics.watch(index_probes(rt.manifest, rt.embedder))
        app.state.drugs = DrugService(app.state.searcher.catalog)  # one name resolver for search and cards
        app.state.drugs.warm_up()
        audit = rt.audit
        app.state.audit = audit
        app.state.reviews = rt.reviews
        app.state.cds = CdsHooksService(app.state.drugs.catalog, audit,
                                        Pseudonymizer.from_file(settings.pseudonym_key_path),
                                        settings.cds_min_indicator, settings.fhir_timeout_s)
        app.state.cds_verifier = CdsClientVerifier(settings.cds_jwt_issuers, settings.cds_jwt_audiences,
                                                   settings.fhir_timeout_s)
        app.state.emr_panel = EmrPanel(settings, app.state.drugs.catalog, app.state.asker)
        app.state.oidc = OidcVerifier(settings.oidc_issuer, settings.oidc_jwks_url, settings.oidc_audience,
                                      settings.oidc_roles_claim, settings.oidc_admin_role, settings.oidc_reader_role,
                                      settings.fhir_timeout_s, settings.oidc_reviewer_role) \
            if settings.oidc_issuer and settings.oidc_jwks_url else None
        if settings.dev_mode:
            log.warning("MEDEVIDENCE_DEV_MODE=1: API AUTHENTICATION IS OFF — local trials only")
        retention = asyncio.create_task(purge_periodically(settings, app.state.asker.traces, audit)) \
            if settings.traces_retention_days else None
        try:
            yield
        finally:
            if retention is not None:
                retention.cancel()
            close_asker(app.state.asker)
            app.state.searcher.close()
            if owned:
                rt.close()

    app = FastAPI(
        title="MedEvidence",
        version=__version__,
        description="Evidence-grounded medical question answering with traceable citations.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url=None,  # served by app/api/health.py behind MEDEVIDENCE_OPS_*
    )
    quiet_third_party_loggers()  # httpx would log FHIR URLs, which hold patient ids
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.anonymous_limiter = RateLimiter(settings.unauthenticated_per_minute, settings.unauthenticated_burst)
    install_error_handlers(app)
    app.add_middleware(Admission, max_concurrent=settings.max_concurrent_requests,
                       max_queued=settings.max_queued_requests, on_reject=metrics.overloaded.inc)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID", "X-MedEvidence-Panel"],
                           expose_headers=["X-Request-ID", "Retry-After"], max_age=600)
    app.add_middleware(ServingMiddleware, metrics=metrics, max_body_bytes=settings.max_request_bytes,
                       max_upload_bytes=settings.file_max_bytes,
                       hsts=(settings.public_base_url or "").startswith("https://"))
    app.include_router(health.router)
    app.include_router(documents.files_router)  # before documents.router, whose /{id} would take /{id}/file
    app.include_router(documents.router)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(reviews.router)
    app.include_router(drugs.router)
    app.include_router(cds_hooks.router)
    app.include_router(web.router)
    app.include_router(emr.router)
    app.mount("/assets", StaticFiles(directory=web.ASSETS), name="assets")
    app.mount("/emr/assets", StaticFiles(directory=emr.ASSETS), name="emr-assets")
    return app
