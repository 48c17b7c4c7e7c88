"""Where the graded interaction tables live in the index, and how a table section names its pair.

Each listed drug has one table document per list: ONC ``onc-high:<drugbank id>`` and ``onc-low:<drugbank id>``,
VA NDF-RT ``ndfrt:<drugbank id>``, each with one section per partner headed "Drug + Partner".  A graph
interaction's severity names its list (the grades of the lists are distinct words).
"""

from __future__ import annotations

from app.graph_model import DrugRecord
from app.model import Section

#: severity -> table document id template (the id of the drug's DrugBank entry fills it)
TABLE_DOC_IDS = {"high": "onc-high:{}", "low": "onc-low:{}", "critical": "ndfrt:{}", "significant": "ndfrt:{}"}


def table_doc_id(severity: str, drugbank_id: str) -> str | None:
    template = TABLE_DOC_IDS.get(severity)
    return template.format(drugbank_id) if template else None


def table_doc_ids(drug: DrugRecord) -> list[str]:
    """Every table document that may list this drug (by its DrugBank id, else its graph id)."""
    key = drug.drugbank or drug.id
    return list(dict.fromkeys(template.format(key) for template in TABLE_DOC_IDS.values()))


def listed_partner(section: Section) -> str:
    """The partner a table section lists, lower case ("Amiodarone + Anagrelide" -> "anagrelide")."""
    return section.heading.split("+", 1)[-1].strip().lower()
