# The gateway (and the admin CLI) as one image. Built by docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@12.4.2
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.json ./
COPY gateway/package.json gateway/
COPY authz/package.json authz/
COPY scripts/package.json scripts/
COPY stack/package.json stack/
COPY test-support/package.json test-support/
RUN pnpm install --frozen-lockfile
COPY gateway gateway
COPY authz authz
COPY scripts scripts
COPY stack stack
COPY infra infra
ENV NODE_ENV=production PORT=8080
EXPOSE 8080
USER node
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
