# Stategraph server image: `stategraph serve` (the LangGraph-compatible API) on SQLite or
# PostgreSQL. Multi-stage: a Rust build stage, then a slim runtime stage running as a non-root
# user with a health check on /ok.
#
# Docker cannot run on the machines this repository is developed and tested on, so this file is
# not built in CI. Its build steps are the commands CI runs (scripts/test.sh): the same
# `cargo build --locked` with the same profile settings; CI builds the same binary in debug, this
# image in release.
#
#   docker build -t stategraph .
#   docker run -p 2024:2024 -e STATEGRAPH_API_KEY=secret -v $PWD/specs:/specs stategraph \
#       serve --specs /specs --db postgres://user:pass@db:5432/stategraph --host 0.0.0.0
#
# Bound to 0.0.0.0 the server requires a token (STATEGRAPH_API_KEY or --token) and refuses to
# start without one; clients send `Authorization: Bearer <token>` or `x-api-key: <token>`.
#
# See docs/deploy.md for several servers on one PostgreSQL database.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The same flags as CI's cargo calls (scripts/test.sh): no incremental caches, locked deps.
ENV CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never
RUN cargo build --locked --release -p stategraph-cli --bins \
 && install -D target/release/stategraph /out/stategraph

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /data --uid 10001 stategraph
COPY --from=build /out/stategraph /usr/local/bin/stategraph
USER stategraph
WORKDIR /data
EXPOSE 2024
# /ok answers without a token, so the check works when a token is required.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:2024/ok || exit 1
ENTRYPOINT ["stategraph"]
CMD ["serve", "--specs", "/specs", "--db", "/data/stategraph.db", "--host", "0.0.0.0", "--port", "2024"]
