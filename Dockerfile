# syntax=docker/dockerfile:1
# The netpol-syncer image. Build from the repository root:
#   docker build -t ghcr.io/netpol-syncer/netpol-syncer:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#
# Both stages use the same slim base, pinned by full version, so the virtualenv built in the
# first one runs unchanged in the second (its interpreter is the base image's /usr/local/bin).
# Every dependency ships wheels, so neither stage needs a compiler.

# --- builder: build the wheel and install it into a virtualenv ----------------------------------
FROM python:3.12.12-slim-trixie AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ONLY_BINARY=:all:

WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps everything else out of the context).
COPY pyproject.toml README.md ./
COPY translate/ translate/
COPY patches/ patches/
COPY guardrails/ guardrails/
COPY syncer/ syncer/
COPY kubesim/ kubesim/
# examples/ ships inside the wheel (syncer.examples) for `netpol-syncer demo`.
COPY examples/ examples/

# The build backend (setuptools) comes from PyPI as source-free wheels too.
RUN python -m pip wheel --no-deps -w /dist . \
 && python -m venv /opt/netpol-syncer \
 && /opt/netpol-syncer/bin/python -m pip install /dist/*.whl \
 && /opt/netpol-syncer/bin/python -m pip uninstall --yes pip \
 && /opt/netpol-syncer/bin/netpol-syncer version

# --- final: the virtualenv on a clean base, as a fixed non-root user ----------------------------
FROM python:3.12.12-slim-trixie

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=""
ARG SOURCE=https://github.com/netpol-syncer/netpol-syncer

LABEL org.opencontainers.image.title="netpol-syncer" \
      org.opencontainers.image.description="Syncs NetworkPolicies from a vCluster to its host namespace, rewritten so they select only that vCluster's pods." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.12.12-slim-trixie"

# No bytecode writes (the root filesystem is read-only; the wheel's .pyc files were compiled at
# install time), unbuffered logs, and a writable HOME and TMPDIR under /tmp, the only writable
# path (an emptyDir in the Helm chart).
ENV PATH=/opt/netpol-syncer/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp

COPY --from=builder /opt/netpol-syncer /opt/netpol-syncer

# 65532 ("nonroot" in distroless) owns nothing in the image: it can read, not modify, the code.
USER 65532:65532
WORKDIR /tmp

# /metrics, /healthz and /readyz (--metrics-address, default :9810).
EXPOSE 9810

ENTRYPOINT ["netpol-syncer"]
CMD ["run"]
