"""Graph facts as citable evidence: an interaction between the question's drugs that the knowledge graph
lists enters the answer's evidence as the passage of the interaction table that states it, when retrieval
did not already bring that passage.  The fact is then cited like any passage — a span of a stored document.

Retrieval's job (``Searcher.ground``): the answer path receives the passages, it never reads the stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.drugs.tables import listed_partner, table_doc_id
from app.model import ChannelRank, Hit
from app.stores.manifest import Manifest
from app.stores.vectors import VectorStore


def fact_passages(manifest: Manifest, vectors: VectorStore, facts: Sequence[dict[str, Any]],
                  hits: Sequence[Hit]) -> list[Hit]:
    """Passages stating the facts that ``hits`` lack (at most one per fact)."""
    have = {h.chunk.chunk_id for h in hits}
    extra: list[Hit] = []
    for fact in facts:
        if any(cid in have for cid in fact.get("evidence_chunk_ids", [])):
            continue
        for owner, partner in ((fact["drug_a"], fact["name_b"]), (fact["drug_b"], fact["name_a"])):
            doc_id = table_doc_id(str(fact["severity"]), owner)
            if doc_id is None:
                break
            hit = _stating_chunk(manifest, vectors, doc_id, str(partner))
            if hit is not None and hit.chunk.chunk_id not in have:
                extra.append(hit)
                have.add(hit.chunk.chunk_id)
                break
    return extra


def _stating_chunk(manifest: Manifest, vectors: VectorStore, doc_id: str, partner: str) -> Hit | None:
    doc = manifest.document(doc_id)
    if doc is None:
        return None
    section = next((s for s in doc.sections if listed_partner(s) == partner.lower()), None)
    if section is None:
        return None
    chunks = vectors.get_chunks(sorted(manifest.chunk_ids([doc_id])))
    for chunk in chunks:
        if chunk.version == doc.version and chunk.start <= section.start < chunk.end:
            return Hit(chunk, 0.0, {"graph": ChannelRank(1, 1.0)})
    return None
