"""The starter-knowledge sources: where each lives under shared/data, which reader reads it,
and how it is attributed (origin, license, citation, license files) in knowledge/.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexers.sources.interactions import read_interactions
from indexers.sources.labeledin import read_labeledin
from indexers.sources.medquad import read_medquad
from indexers.sources.ndfrt import read_ndfrt
from indexers.sources.ngc_guidelines import read_ngc_guidelines
from indexers.sources.nlm180 import read_nlm180
from indexers.sources.openfda import read_openfda
from indexers.sources.pubmedqa import read_pubmedqa
from indexers.sources.registry import Reader
from indexers.sources.spl_adr import read_spl_adr
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
    SourceInfo(
        name="spl_adr", subdir="labels/spl_adr_200", reader=read_spl_adr,
        title="FDA label adverse-reaction, warnings and boxed-warning sections of 200 drugs (TAC 2017 ADR)",
        origin="The SPL-ADR-200db / TAC 2017 ADR set (101 train + 99 test labels of 2016-2017 DailyMed), as "
        "reformatted by github.com/tatonetti-lab/onsides @ a4728641 (database/annotations/demner-fushman-*-"
        "labels.json); sections.jsonl (one line per section, annotations dropped). Labels are keyed by brand; "
        "the ingredient is named only where the label's own text names it (indexers/data/spl_adr_brands.tsv, "
        "each row checked against the text); brands left unmapped are listed in graph/README.md.",
        license="Label text: FDA Structured Product Labeling, U.S. Government work (public domain; the BigBio "
        "card of spl_adr_200db gives CC0-1.0). The onsides repository is MIT-licensed (onsides-LICENSE.txt); "
        "its annotations are not shipped.",
        cite="Demner-Fushman D, Shooshan SE, Rodriguez L, et al. A dataset of 200 structured product labels "
        "annotated for adverse drug reactions. Sci Data. 2018;5:180001; each label by brand and ingredient. "
        "Label text is of 2016-2017 and may be outdated against the current label.",
        id_pattern="spl-adr:<brand>",
        license_files=("labels/spl_adr_200/onsides-LICENSE.txt",),
        notice=PUBLIC_DOMAIN_LABELS,
    ),
    SourceInfo(
        name="labeledin", subdir="labels/labeledin", reader=read_labeledin,
        title="LabeledIn: INDICATIONS AND USAGE sections of 500 FDA labels with expert disease annotations",
        origin="LabeledIn (NCBI), as kept by github.com/dhimmel/indications @ 11d535ba (labeledin/download, "
        "labeledin/data/indications.tsv): 500 DailyMed labels of 2012-08-28, 249 ingredients; the expert "
        "disease annotations (UMLS CUIs) become LABELED_FOR graph edges.",
        license="Public domain: NCBI 'United States Government Work' notice (README.txt); dhimmel/indications "
        "releases its own content under CC0.",
        cite="Khare R, Li J, Lu Z. LabeledIn: cataloging labeled indications for human drugs. J Biomed Inform. "
        "2014;52:448-56; each label by DailyMed set id (version of 2012-08-28, which may be outdated).",
        id_pattern="labeledin:<set_id>",
        license_files=("labels/labeledin/README.txt",),
        notice=PUBLIC_DOMAIN_LABELS,
    ),
    SourceInfo(
        name="ndfrt", subdir="interactions/ndfrt_va", reader=read_ndfrt,
        title="VA NDF-RT drug-drug interactions (graded Critical / Significant)",
        origin="2,606 VA NDF-RT interaction pairs (514 drugs, DrugBank ids) of github.com/dbmi-pitt/Merged-PDDI "
        "@ 1c97575e, data/CombinedDatasetNotConservative.csv.bz2, rows with source NDF-RT only (no other "
        "source of that file is shipped). One document per drug, one sentence per partner with its grade.",
        license="U.S. Government work by origin: the U.S. Department of Veterans Affairs' National Drug File - "
        "Reference Terminology (distributed publicly by NCI EVS as the NDF-RT Public Edition). Merged-PDDI has "
        "no license file; no explicit license text was verified (public domain by origin, pending legal "
        "confirmation). NDF-RT has since been retired; the data is a 2014-2017 snapshot.",
        cite="U.S. Department of Veterans Affairs, NDF-RT drug-drug interactions; Ayvaz S, et al. Toward a "
        "complete dataset of drug-drug interaction information from publicly available sources. J Biomed "
        "Inform. 2015;55:206-217.",
        id_pattern="ndfrt:<DrugBank id>",
        notice="The VA NDF-RT interaction pairs are a U.S. Government work by origin (Department of Veterans "
        "Affairs). Their grade (Critical / Significant) is NDF-RT's own and is shown beside, never merged "
        "with, the ONC grades. Mechanism and management text are not part of this source.",
    ),
    SourceInfo(
        name="ngc_guidelines", subdir="guidelines/ngc_public_domain", reader=read_ngc_guidelines,
        title="National Guideline Clearinghouse summaries marked free of copyright (CDC, VA/DoD, NHLBI, ...)",
        origin="53 NGC (AHRQ) guideline summaries whose own Copyright Statement says no copyright restrictions "
        "apply or that the guideline is in the public domain, from the archive github.com/JesseTG/ngc_dump @ "
        "89996cfc (markdown/ngc-<id>.md, scraped before guideline.gov closed in July 2018). Recommendations "
        "keep their grades as metadata; developer, release date and status are kept.",
        license="Public domain per each summary's Copyright Statement (kept in metadata.copyright); NGC was a "
        "U.S. federal (AHRQ) service. ngc_dump has no license file; the summaries with developer copyright "
        "were not copied.",
        cite="Each guideline by its bibliographic source (metadata.citation), as summarised by the National "
        "Guideline Clearinghouse (AHRQ), NGC:<id>. Summaries date from 2014-2018; several have since been "
        "superseded (e.g. the CDC opioid guideline of 2016 by that of 2022).",
        id_pattern="ngc:<NGC id>",
        notice="These guideline summaries are in the public domain according to their own copyright statements. "
        "They are summaries, not the full guidelines, and may be superseded: check the developer's current "
        "version before acting on a recommendation.",
    ),
)


def source_names() -> list[str]:
    """Names of the starter-knowledge sources, in build order."""
    return [s.name for s in SOURCES]
