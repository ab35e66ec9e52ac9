# syntax=docker/dockerfile:1
#
# Sangraha: one image for every role; the command chooses it.
#
#   docker run IMAGE gateway      S3 API on :8000 (SANGRAHA_PORT)
#   docker run IMAGE receiver     writes from object_write_queue
#   docker run IMAGE getter       reads from object_read_queue
#
# Configuration comes from SANGRAHA_* variables, each also accepted as
# SANGRAHA_*_FILE (Docker secrets); see docs/deployment.md.
#
# The Debian release is pinned (bookworm, as on the development machines) so
# that `libmagic1` names the same package on every rebuild.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build ----
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/sangraha

# Dependencies first, pinned to the versions the test suite ran against
# (docker/freeze-constraints.py). Wheels only: no compiler in the image, and a
# missing wheel fails the build instead of compiling something untested.
COPY docker/constraints.txt /tmp/constraints.txt
RUN /opt/sangraha/bin/pip install --only-binary=:all: -r /tmp/constraints.txt

# Then the project itself (.dockerignore lets only its sources through).
COPY . /src
RUN /opt/sangraha/bin/pip install --no-deps /src \
    && /opt/sangraha/bin/pip check

# -------------------------------------------------------------- runtime ----
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="sangraha" \
      org.opencontainers.image.description="S3-compatible gateway: HTTP -> RabbitMQ -> workers -> S3 storage"

# libmagic1 for python-magic (content type detection of the native API).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 sangraha \
    && useradd --system --uid 10001 --gid sangraha --home-dir /var/lib/sangraha \
       --create-home --shell /usr/sbin/nologin sangraha

COPY --from=build /opt/sangraha /opt/sangraha

# Smoke test: every role's modules import, and python-magic finds libmagic.
RUN /opt/sangraha/bin/python -c "import magic, gateway.app, backend_workers.operations, backend_workers.storage.s3, sangraha.transport.amqp" \
    && /opt/sangraha/bin/sangraha --help >/dev/null

ENV PATH=/opt/sangraha/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SANGRAHA_HOST=0.0.0.0 \
    SANGRAHA_PORT=8000 \
    SANGRAHA_DATA_DIR=/var/lib/sangraha/data

WORKDIR /var/lib/sangraha
USER 10001:10001
EXPOSE 8000

# Gateway: GET /_sangraha/health on SANGRAHA_PORT. Workers: the heartbeat file
# (SANGRAHA_HEARTBEAT_FILE) is fresh. Without --role the check assumes the
# gateway; swarm-stack.yml passes --role for each service.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["sangraha", "healthcheck"]

ENTRYPOINT ["sangraha"]
CMD ["gateway"]
