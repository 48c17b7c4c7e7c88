"""The starter-knowledge sources: where each lives under shared/data, which reader reads it,
and how it is attributed (origin, license, citation, license files) in knowledge/.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexers.sources.interactions import read_interactions
from indexers.sources.medquad import read_medquad
from indexers.sources.nlm180 import read_nlm180
from indexers.sources.openfda import read_openfda
from indexers.sources.pubmedqa import read_pubmedqa
from indexers.sources.registry import Reader
from indexers.sources.spl_sections import read_spl_sections

PUBLIC_DOMAIN_LABELS = (
    "FDA drug-label text (Structured Product Labeling) is a work of the U.S. Government and is in the "
    "public domain in the United States (17 U.S.C. 105). MedEvidence keeps each label's set id (and "
    "effective date where known) so that every passage can be cited to its DailyMed page."
)


@dataclass(frozen=True)
class SourceInfo:
    """One source of the starter knowledge and its attribution."""

    name: str
    subdir: str
    reader: Reader
    title: str
    origin: str
    license: str
    cite: str
    id_pattern: str
    license_files: tuple[str, ...] = ()
    notice: str = ""


SOURCES: tuple[SourceInfo, ...] = (
    SourceInfo(
        name="openfda", subdir="labels/openfda", reader=read_openfda,
        title="Full FDA drug labels (openFDA drug/label records)",
        origin="Complete openFDA drug/label records for 26 common drugs, as committed to "
        "github.com/sg6724/graph-rag @ f91b5708 and github.com/rxbass/Healthcare-Hybrid-GraphRAG @ 5c9d5533 "
        "(data/raw/<drug>.json). Text fields become sections; HTML tables and the mirrors' own additions "
        "(`_meta`, manifest.json) are left out.",
        license="Public domain (U.S. Government work). The mirror repositories state no license; nothing of "
        "theirs is kept.",
        cite="Each label by set id and effective date: https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid="
        "<set_id> (every document carries metadata.citation).",
        id_pattern="openfda:<set_id>",
        notice=PUBLIC_DOMAIN_LABELS,
    ),
    SourceInfo(
        name="nlm180", subdir="labels/nlm180", reader=read_nlm180,
        title="NLM-180 DailyMed label extracts",
        origin="182 DailyMed label extracts (contraindications, warnings, drug interactions, ...) of the "
        "NLM-180 drug-label DDI corpus, github.com/dbmi-pitt/public-PDDI-analysis @ 8199ee66, "
        "PDDI-Datasets/NLM-Corpus/DataSet_May_2014_Final (txt; the xml supplies drug names only).",
        license="Label text: public domain (FDA SPL). NLM annotations: U.S. Government work. The repository "
        "has no license file.",
        cite="Ayvaz S, et al. Toward a complete dataset of drug-drug interaction information from publicly "
        "available sources. J Biomed Inform. 2015;55:206-217; and each label by DailyMed set id.",
        id_pattern="nlm180:<set_id>",
        notice=PUBLIC_DOMAIN_LABELS,
    ),
    SourceInfo(
        name="spl_sections", subdir="labels/spl_interaction_sections", reader=read_spl_sections,
        title="PK-DDI package-insert sections (Drug Interactions, Clinical Pharmacology)",
        origin="Full '7 Drug Interactions' and '12 Clinical Pharmacology' sections of 26 drug products, "
        "github.com/dbmi-pitt/u-of-pitt-spl-ddi-v2.0 @ 466a935f, PK-DDI-NLP-pipeline/AnnotationStudyAndresH/"
        "revised-package-insert-statements, paired per product with dailymed_htmls_and_textnumbers.txt.",
        license="Label text: public domain (FDA SPL). The repository's code (LGPL-2) is not included.",
        cite="Each product's DailyMed page (document url); Boyce RD, et al., University of Pittsburgh "
        "PK-DDI package-insert corpus.",
        id_pattern="spl-ddi:<Drug Interactions file number>",
        notice=PUBLIC_DOMAIN_LABELS,
    ),
    SourceInfo(
        name="pubmedqa", subdir="pubmedqa", reader=read_pubmedqa,
        title="PubMedQA PQA-L abstracts (evidence)",
        origin="1,000 expert-labelled PubMed abstracts of PubMedQA PQA-L, github.com/pubmedqa/pubmedqa "
        "data/ori_pqal.json (structured sections, conclusion, MeSH terms). The questions are not shipped.",
        license="MIT (PubMedQA, see licenses/pubmedqa/LICENSE); abstract text from PubMed/MEDLINE.",
        cite="Jin Q, Dhingra B, Liu Z, Cohen W, Lu X. PubMedQA: A Dataset for Biomedical Research Question "
        "Answering. EMNLP-IJCNLP 2019; and each abstract as PubMed PMID "
        "(https://pubmed.ncbi.nlm.nih.gov/<pmid>/).",
        id_pattern="pubmed:<pmid>",
        license_files=("pubmedqa/LICENSE",),
    ),
    SourceInfo(
        name="medquad", subdir="medquad", reader=read_medquad,
        title="MedQuAD consumer health documents (NIH / CDC)",
        origin="Nine MedQuAD collections that keep their answers (CancerGov, GARD, GHR, MedlinePlus Health "
        "Topics, NIDDK, NINDS, NIHSeniorHealth, NHLBI, CDC), github.com/abachaa/MedQuAD. Changes: each "
        "answer is a section titled by its question type; whitespace is normalised; documents without "
        "any answer are left out.",
        license="CC BY 4.0 (see licenses/medquad/LICENSE.txt).",
        cite="Ben Abacha A, Demner-Fushman D. A question-entailment approach to question answering. "
        "BMC Bioinformatics. 2019;20:511; and each document's source URL.",
        id_pattern="medquad:<collection>:<document file id>",
        license_files=("medquad/LICENSE.txt",),
    ),
    SourceInfo(
        name="interactions", subdir="interactions", reader=read_interactions,
        title="ONC drug-drug interaction lists (high priority, non-interruptive)",
        origin="ONC high-priority (interruptive) and non-interruptive DDI lists mapped to DrugBank, "
        "github.com/dbmi-pitt/public-PDDI-analysis @ 8199ee66 (PDDI-Datasets/ONC-High-Priority, "
        "ONC-Non-Interuptive). One document per (list, drug), one sentence per interacting partner.",
        license="No license file; these are facts from published papers, cited below.",
        cite="Phansalkar S, et al. High-priority drug-drug interactions for use in electronic health "
        "records. J Am Med Inform Assoc. 2012;19(5):735-43 (severity high). Phansalkar S, et al. "
        "Drug-drug interactions that should be non-interruptive in order to reduce alert fatigue in "
        "electronic health records. J Am Med Inform Assoc. 2013;20(3):489-93 (severity low).",
        id_pattern="onc-high:<DrugBank id>, onc-low:<DrugBank id>",
        notice="The ONC interaction lists carry no license of their own: they restate the findings of the "
        "two JAMIA papers by Phansalkar et al. (2012, 2013), as mapped to DrugBank 4 by the University of "
        "Pittsburgh (github.com/dbmi-pitt/public-PDDI-analysis). Cite the papers when using them.",
    ),
)


def source_names() -> list[str]:
    """Names of the starter-knowledge sources, in build order."""
    return [s.name for s in SOURCES]
