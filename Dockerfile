# One image for every Spillway-side service of docker-compose.yml: Spillway itself, the fake Modal,
# the in-house backends and the load generator (the last three are test tools run with tsx).
FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends openssl ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY proto ./proto
COPY src ./src
COPY tools ./tools
COPY envoy ./envoy
COPY compose ./compose
RUN npm run build
ENV SPILLWAY_LOG_LEVEL=info
EXPOSE 18000 18081 18082
CMD ["node", "dist/src/cli.js", "serve", "--config", "/app/compose/spillway.yaml"]
