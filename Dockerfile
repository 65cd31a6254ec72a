# syntax=docker/dockerfile:1
# Multi-stage: build with the full toolchain, run from a small Debian image as a non-root user.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Manifests first, so dependency builds are cached until they change.
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY api/Cargo.toml api/Cargo.toml
COPY domain/Cargo.toml domain/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
COPY tests/Cargo.toml tests/Cargo.toml
COPY api api
COPY domain domain
COPY migration migration
COPY tests tests
COPY schema.graphql schema.graphql
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p feihong-api \
 && cp target/release/feihong /usr/local/bin/feihong

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 feihong \
 && useradd --system --uid 10001 --gid feihong --home-dir /data --shell /usr/sbin/nologin feihong \
 && mkdir -p /data \
 && chown feihong:feihong /data
COPY --from=build /usr/local/bin/feihong /usr/local/bin/feihong
USER feihong:feihong
WORKDIR /data
VOLUME ["/data"]
ENV FEIHONG_BIND=0.0.0.0:8080 \
    FEIHONG_DATA_DIR=/data \
    FEIHONG_ENV=production
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/feihong"]
CMD ["serve"]
