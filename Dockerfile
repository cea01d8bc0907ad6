# 督办助手: the same entry point as scripts/run (python -m bot run). README: Deployment, Docker.
# Build: docker build -t dubanbot .
# Run:   docker run -d --name dubanbot --env-file .env -v dubanbot-data:/app/data dubanbot

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY config ./config
COPY handlers ./handlers
COPY storage ./storage
RUN python -m venv /venv \
    && /venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOT_PID_FILE=/app/data/bot.pid
RUN groupadd --system --gid 10001 dubanbot \
    && useradd --system --uid 10001 --gid dubanbot --home-dir /app --shell /usr/sbin/nologin dubanbot \
    && mkdir -p /app/data /app/config \
    && chown -R dubanbot:dubanbot /app/data
COPY --from=build /venv /venv
COPY config/examples /app/config/examples
WORKDIR /app
USER dubanbot
VOLUME ["/app/data"]
# /healthz answers when BOT_HTTP is set (e.g. 0.0.0.0:8080); without it the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request as u; a=os.environ.get('BOT_HTTP','').strip(); a or sys.exit(0); h,_,p=a.rpartition(':'); h=h if h not in ('','0.0.0.0','[::]','::') else '127.0.0.1'; u.urlopen(f'http://{h}:{p}/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
