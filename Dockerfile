# The dbmigrate image: the CLI and the operator (`dbmigrate operator`) on Node.js 24, with
# pg_dump/pg_restore 17 for snapshots of PostgreSQL servers up to 17. `make image` builds it
# (hack/image.sh); NODE_IMAGE picks another Node.js 24 base.
ARG NODE_IMAGE=docker.io/library/node:24-trixie-slim

# --- build: the npm package exactly as users install it, without dev dependencies -------------
# One RUN over a bind mount of the context: the stage's only layer is /opt/dbmigrate, and npm's
# download cache lives in a cache mount, not in the image. Behind a TLS-inspecting proxy the
# builder passes its CA bundle as the secret build_ca (never stored in a layer); without it Node
# notes the missing file and uses its own CAs.
FROM ${NODE_IMAGE} AS build
RUN --mount=type=bind,target=/context \
    --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=build_ca \
    export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca npm_config_update_notifier=false \
      npm_config_fund=false npm_config_audit=false npm_config_loglevel=error \
 && mkdir /build && cd /context \
 && cp -r package.json package-lock.json tsconfig.json tsconfig.lib.json rolldown.config.js \
      README.md LICENSE CHANGELOG.md crds migrations src /build/ \
 && cd /build && npm ci \
 && npm pack --silent --pack-destination /tmp >/dev/null \
 && npm install --global --prefix /opt/dbmigrate --omit=dev --prefer-offline \
      /tmp/db-migration-operator-*.tgz \
 && rm -rf /build /tmp/db-migration-operator-*.tgz

# --- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG NODE_IMAGE
# The PostgreSQL client tools must be at least the servers' major (pg_dump refuses newer
# servers); tini reaps pg_dump's children and forwards SIGTERM as PID 1. No package manager
# stays: npm, npx and corepack go with the apt lists.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql-client-17 tini ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt \
      /var/log/dpkg.log \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn* \
 && groupadd --gid 10001 dbmigrate \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin dbmigrate
# Root-owned and read-only to the process: nothing under /opt is written at run time (the V8
# compile cache and temporary files go to /tmp, an emptyDir in the chart).
COPY --from=build /opt/dbmigrate /opt/dbmigrate
LABEL org.opencontainers.image.title="db-migration-operator" \
      org.opencontainers.image.description="Safe schema changes for live PostgreSQL + pgvector: the dbmigrate CLI and its Kubernetes operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/docserver/db-migration-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="docserver" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
# PostgreSQL's own bin directory first: pg_dump and pg_restore 17 run directly, not through
# Debian's version-picking wrapper.
ENV PATH=/opt/dbmigrate/bin:/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["/usr/bin/tini", "--", "dbmigrate"]
CMD ["--help"]
