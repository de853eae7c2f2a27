# syntax=docker/dockerfile:1
# comment-moderation: multi-stage build, slim runtime, non-root, default model included.
#   docker build -t comment-moderation .
#   docker run --rm -e MODERATION_DATABASE_URL=postgresql://... comment-moderation moderation migrate
#   docker run -p 8080:8080 -e MODERATION_DATABASE_URL=postgresql://... comment-moderation

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a wheel of the project and every dependency in one virtual environment ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A C compiler for the featurizer's C loop (classifier/_ngrams.c); the runtime image needs none.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc=4:12.2.* libc6-dev=2.36-* \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first, so a code change does not reinstall scikit-learn.
COPY pyproject.toml README.md LICENSE ./
COPY service/__init__.py service/__init__.py
COPY classifier/__init__.py classifier/__init__.py
RUN /opt/venv/bin/pip install --upgrade pip==24.3.1 \
    && /opt/venv/bin/pip install .
COPY service service
COPY classifier classifier
# Not editable: the default model (classifier/models/default) and queries.sql travel as package data.
RUN /opt/venv/bin/pip install --no-deps --force-reinstall . \
    && /opt/venv/bin/python -c "import classifier, pathlib; assert (pathlib.Path(classifier.default_model_path()) / 'manifest.json').is_file()" \
    && /opt/venv/bin/python -c "from classifier.features import COMPILED; assert COMPILED, 'C featurizer not built'"

# --- runtime: the virtual environment, the migrations, an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="comment-moderation" \
      org.opencontainers.image.description="Self-hosted comment moderation service" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 moderation \
    && useradd --system --uid 10001 --gid moderation --home-dir /app --no-create-home moderation
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root migrations /app/migrations
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MODERATION_HOST=0.0.0.0 \
    MODERATION_PORT=8080 \
    MODERATION_MIGRATIONS_DIR=/app/migrations \
    MODERATION_MIGRATE_ON_START=false \
    MODERATION_LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# Liveness only (the process answers HTTP): a database outage must not get the container restarted.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]
# Migrations are a separate command (`moderation migrate`), run once per release before serving.
CMD ["moderation", "serve"]
