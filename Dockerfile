# banana-bot: the Slack bot. Secrets come from the environment at run time:
#   docker run --env-file .env -p 3000:3000 banana-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    BANANA_DB=/app/data/banana.db

RUN useradd --create-home --uid 10001 banana
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && mkdir -p /app/data && chown banana:banana /app/data

USER banana
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]
# SIGTERM drains running jobs within BANANA_SHUTDOWN_GRACE (default 8 s < docker's 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["banana-bot"]
CMD ["serve"]
