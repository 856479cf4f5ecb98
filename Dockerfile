# syntax=docker/dockerfile:1
# tradelog container image: build with the Swift toolchain on Debian 12
# (bookworm), run on bookworm-slim so the C libraries (libpq, rabbitmq-c, lz4,
# OpenSSL) and glibc match between the two stages.
#
#   docker build -t tradelog:local .
#   docker compose up          (see docker-compose.yml)

# Must be >= 6.2 (hummingbird-websocket's swift-tools-version; Package.swift says
# 6.1). Keep a -bookworm tag: an Ubuntu-based swift image would link against a
# newer glibc than the runtime stage has.
ARG SWIFT_IMAGE=swift:6.3-bookworm

# ---------------------------------------------------------------- build stage
FROM ${SWIFT_IMAGE} AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq-dev librabbitmq-dev liblz4-dev libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Resolve dependencies in their own layer so source edits don't refetch them.
# (Package.resolved is git-ignored; the [d] glob lets COPY succeed without it.)
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve

COPY . .
# Static Swift stdlib/Foundation: the runtime image needs no Swift runtime.
RUN swift build -c release --product tradelog --static-swift-stdlib \
 && mkdir -p /staging \
 && cp "$(swift build -c release --show-bin-path)/tradelog" /staging/tradelog

# -------------------------------------------------------------- runtime stage
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq5 librabbitmq4 liblz4-1 libssl3 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/tradelog --shell /usr/sbin/nologin tradelog

WORKDIR /app
COPY --from=build /staging/tradelog /app/tradelog
# SQL the binary loads at run time; it looks for schema/ and projections/ in
# its working directory (or TRADELOG_SCHEMA_DIR / TRADELOG_PROJECTIONS_DIR).
COPY schema/ /app/schema/
COPY projections/ /app/projections/

ENV PATH=/app:$PATH
USER tradelog

# docker-compose.yml overrides this with "tradelog migrate" for the one-shot
# migration service.
CMD ["tradelog", "run"]
