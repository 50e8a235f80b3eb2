# banana-bot: the Slack bot. Secrets come from the environment at run time:
#   docker run --env-file .env -p 3000:3000 banana-bot
# The base is pinned by digest (the multi-arch index of python:3.11-slim, Python
# 3.11.16 on Debian trixie): a moved tag cannot change what is built. To update,
# `docker buildx imagetools inspect python:3.11-slim` and replace the digest.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    BANANA_DB=/app/data/banana.db

RUN useradd --create-home --uid 10001 banana
WORKDIR /app
# Exact versions, every download checked against its hash (requirements.lock is
# compiled from pyproject.toml's ranges; see README). The project itself goes on
# top with no dependency resolution and no build-time downloads.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-deps --no-build-isolation . \
    && mkdir -p /app/data && chown banana:banana /app/data

USER banana
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]
# SIGTERM drains running jobs within BANANA_SHUTDOWN_GRACE (default 8 s < docker's 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["banana-bot"]
CMD ["serve"]
