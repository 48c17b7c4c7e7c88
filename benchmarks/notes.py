"""How each figure of REPORT.md was measured (rendered under "Notes"; ``{...}`` filled from the plan)."""

NOTES = [
    "Every part runs in its own process, one after another, on this machine; the CPUs are shared with whatever "
    "else runs (see the load average under Machine), so compare figures within this run, not across runs.",
    "Corpus sizes: `starter` is the indexed starter knowledge itself. Smaller sizes are a seeded sample of its "
    "chunks; larger ones add perturbed copies (other doc ids; {drop:.0%} of each chunk's words dropped, seeded; "
    "dense vector = the cached vector of the original plus Gaussian noise of {noise} per coordinate, "
    "renormalised; seed {seed}). Nothing is re-embedded. `benchmarks/corpus.py`.",
    "Ours: a scaled corpus is written into a fresh qdrant-edge store and optimised once; the service process "
    "opens the starter data dir's runtime (model, graph, analyzer, settings) with that store swapped in, and "
    "runs one cold pass of `Searcher.search` over the {queries} queries (MedQuAD held-out, PubMedQA dev, five "
    "Chinese; reported apart), then measures the same queries warm, in process and through `POST /v1/search` on "
    "a uvicorn server on loopback, k=10.",
    "(b) rank_bm25 `BM25Okapi.get_scores` over lower-case `\\w+` tokens + exact numpy dot product over the same "
    "vectors + RRF (k=60) of both top 100; query encoded by the same MiniLM (sentence-transformers). "
    "(a) llama-index `VectorStoreIndex` on `QdrantVectorStore` (qdrant-client local mode, in memory) + "
    "`BM25Retriever` + `QueryFusionRetriever(mode=\"reciprocal_rerank\", num_queries=1, use_async=False)`, "
    "each retriever top 10, query embedded by `HuggingFaceEmbedding` over the same local MiniLM folder. "
    "Both get the same chunk texts (title, section, text) and vectors as ours and {baseline_queries} of the "
    "same queries; their latencies include query embedding and are taken, like ours, on a second pass over "
    "the queries. Their build time is not in the latency.",
    "Memory: peak RSS (`ru_maxrss`) of each process. Ours is read right after the search measurements. The graph "
    "JVM runs inside the service process (JPype), so the OS sees one RSS; the JVM's share is read from the JVM's "
    "own Native Memory Tracking (committed memory; `JAVA_TOOL_OPTIONS=-XX:NativeMemoryTracking=summary` is set "
    "for service processes only). Committed is not resident: Python side ≈ RSS − JVM committed is an estimate. "
    "For a scaled corpus the starter data dir's own store stays open (mapped, not searched).",
    "Lexical: our sparse channel (`search_sparse`, qdrant-edge, BM25 weights with the corpus's own average "
    "length) against `rank_bm25.BM25Okapi.get_scores` + top 10 over the same analyzer tokens; overlap = shared "
    "chunks in the two top 10.",
    "Ingestion: `benchmarks/indexing.py`: `Indexer.index_paths` on a fresh data dir without a vector cache vs "
    "the bare encoder on the same chunks; starter knowledge from the shipped cache with `medevidence index` in a "
    "fresh data dir; then an unchanged re-run; then a re-run with every 100th document edited (a sentence put "
    "before its first section) through a copy of the knowledge folder.",
    "Quality: `benchmarks/retrieval_eval.py` (system via `app.cli search --queries`, textbook baselines). "
    "Cross-lingual: seeded sample of drugs and diseases whose Chinese name identifies them, "
    "\"<中文名> 禁忌/治疗\" vs \"<name> contraindications/treatment\", top-10 chunk overlap.",
    "Answer path: `benchmarks/answers.py` (`quality` for the extractive answerer; `overhead` for the LLM path "
    "against a llama.cpp OpenAI server with SmolLM2-135M). Interactions: `benchmarks/interactions.py`.",
]
