# syntax=docker/dockerfile:1
#
# MinIO built from source. MinIO publishes neither images nor binaries since
# October 2025; this is the same pinned version scripts/bootstrap.sh builds
# for development (SANGRAHA_MINIO_VERSION there; tests/deploy checks they agree).
#
#   docker build -f docker/minio.Dockerfile -t 127.0.0.1:5000/sangraha-minio:<MINIO_VERSION> .
#
# The build context is not used (.dockerignore keeps it tiny).
ARG GO_VERSION=1.26
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------- build ----
FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build

ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

# Static binary, no VCS stamping, never fetch another Go toolchain.
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local \
    GOFLAGS="-trimpath -buildvcs=false"

RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go install -ldflags="-s -w" "github.com/minio/minio@${MINIO_VERSION}" \
    && built=$(go version -m /go/bin/minio | awk '$1 == "mod" && $2 == "github.com/minio/minio" {print $3}') \
    && if [ "$built" != "$MINIO_VERSION" ]; then echo "built $built, wanted $MINIO_VERSION" >&2; exit 1; fi \
    && /go/bin/minio --version

# -------------------------------------------------------------- runtime ----
# Debian slim rather than distroless: the health check needs curl.
FROM debian:${DEBIAN_RELEASE}-slim

ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
LABEL org.opencontainers.image.title="sangraha-minio" \
      org.opencontainers.image.description="MinIO server built from source for Sangraha" \
      org.opencontainers.image.version="${MINIO_VERSION}" \
      org.opencontainers.image.licenses="AGPL-3.0-only"

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# /data is owned by the minio user, so a fresh named volume mounted there
# inherits that ownership.
RUN groupadd --system --gid 10002 minio \
    && useradd --system --uid 10002 --gid minio --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin minio \
    && install -d -o minio -g minio -m 0750 /data

COPY --from=build /go/bin/minio /usr/local/bin/minio

# Credentials come from MINIO_ROOT_USER_FILE / MINIO_ROOT_PASSWORD_FILE
# (Docker secrets), set by the stack. No update checks from a container.
ENV MINIO_UPDATE=off

USER 10002:10002
WORKDIR /data
EXPOSE 9000 9001

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "--max-time", "4", "-o", "/dev/null", "http://127.0.0.1:9000/minio/health/live"]

ENTRYPOINT ["minio"]
CMD ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
