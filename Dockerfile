# event-producer, event-consumer, event-verify and event-gateway images: one
# build stage, one runtime base, and a target per binary.
#
#   docker build --target consumer -t event-ingest/consumer .
#   docker build --target producer -t event-ingest/producer .
#   docker build --target verify -t event-ingest/verify .
#   docker build --target gateway -t event-ingest/gateway .
#
# docker-compose.yml builds the first two, and the gateway (profile
# gateway). DEBIAN_IMAGE is Debian's official image, which Docker pulls as
# usual; on a machine with no registry, scripts/compose-images.sh makes it
# locally under that name (debootstrap, slimmed, docker import). Packages
# come from the image's own Debian mirror over plain HTTP; nothing here
# downloads over HTTPS.
#
# docker-compose 1.29 builds with the classic builder, which runs every
# stage before the target, in order: the stages every target needs come
# first, and the other targets find them in the cache.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
# scripts/setup.sh installs the build list (cmocka too: configuring the tree
# configures the unit tests, though only the binaries are built) and, as
# Debian 12's librdkafka is older than 2.1, builds librdkafka 2.8.0 from
# Debian 13's source package into EV_DEPS_DIR. It is copied in alone, so
# this layer, the slow one, is rebuilt only when setup.sh changes.
ENV EV_DEPS_DIR=/opt/event-ingest
COPY scripts/setup.sh /src/scripts/setup.sh
RUN /src/scripts/setup.sh \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore lets in only the sources CMake reads.
COPY . .
# Warnings are CI's gate (scripts/build.sh -DEV_WERROR=ON), not a user's
# `docker-compose up`: the same compiler and flags otherwise.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEV_WERROR=OFF \
      -DEV_DEPS_DIR="$EV_DEPS_DIR" \
 && cmake --build /build --target event-producer event-consumer event-verify \
      event-gateway -j"$(nproc)" \
 && install -D -s -m 0755 -t /out /build/bin/event-producer \
      /build/bin/event-consumer /build/bin/event-verify /build/bin/event-gateway

FROM ${DEBIAN_IMAGE} AS runtime
# The binaries' shared libraries (librdkafka's own: SASL, zstd, LZ4), the CA
# bundle for TLS to Kafka and to Google (and PostgreSQL, when its DSN asks
# for it), and curl for the health check (docker-compose.yml); nothing else.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libjansson4 libcurl4 libssl3 libmicrohttpd12 libpq5 libpcre2-8-0 \
      libsasl2-2 libzstd1 liblz4-1 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin event-ingest
COPY --from=build /out/ /usr/local/bin/
# The librdkafka built in the build stage, where the binaries' rpath looks.
COPY --from=build /opt/event-ingest/librdkafka/lib/ /opt/event-ingest/librdkafka/lib/
# All four load: a missing runtime library fails the build, not the
# container.
RUN event-producer --version && event-consumer --version \
 && event-verify --version && event-gateway --version
USER 10001:10001
LABEL org.opencontainers.image.title="event-ingest" \
      org.opencontainers.image.description="event-ingest: JSON log events over HTTP, Kafka or Google Cloud Pub/Sub, to stdout, PostgreSQL and Firestore"

FROM runtime AS producer
ENTRYPOINT ["event-producer"]

FROM runtime AS consumer
# --metrics-addr / METRICS_ADDR (off by default) serves /metrics, /healthz
# and /readyz; docker-compose.yml sets it to 0.0.0.0:9100.
EXPOSE 9100
ENTRYPOINT ["event-consumer"]

FROM runtime AS verify
# Compares a PostgreSQL table with the topic (or a file of events) it was
# written from: exit 0 when they match.
ENTRYPOINT ["event-verify"]

FROM runtime AS gateway
# POST /ingest, /healthz, /readyz and /metrics on --listen / GATEWAY_LISTEN
# (default 0.0.0.0:8080).
EXPOSE 8080
ENTRYPOINT ["event-gateway"]
