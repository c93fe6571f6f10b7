# syntax=docker/dockerfile:1
# One image recipe for all six services:
#   docker build --build-arg SERVICE=allocation -t leadflow/allocation:0.1.0 .
# The services run their TypeScript source through tsx (the workspace has no build step), so the
# image carries the source, the production dependencies of that one service, and a pinned tsx.

ARG NODE_IMAGE=node:20.19-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0
RUN corepack enable && corepack prepare pnpm@9.15.9 --activate
WORKDIR /app

# Only the lockfile decides what is fetched, so this layer survives source changes.
FROM base AS fetch
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch --prod

FROM fetch AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<ingestion|cleansing|scoring|allocation|nurturing|reporting>" >&2; exit 1; }
COPY . .
RUN test -f "services/${SERVICE}/src/main.ts" || { echo "no services/${SERVICE}/src/main.ts" >&2; exit 1; }
# The service and the workspace packages it depends on (the trailing "..."), production only.
RUN pnpm install --offline --frozen-lockfile --prod --filter "./services/${SERVICE}..."

# tsx is the runtime loader, not an application dependency: installed on its own, pinned to the
# workspace's version, then linked where `node --import tsx` resolves it.
FROM ${NODE_IMAGE} AS tsx
RUN npm install --prefix /opt/tsx --no-audit --no-fund --omit=dev tsx@4.20.6

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    SERVICE_HOST=0.0.0.0 \
    SERVICE_PORT=3000
WORKDIR /app
COPY --from=tsx /opt/tsx /opt/tsx
COPY --from=build /app /app
RUN ln -s /opt/tsx/node_modules/tsx /app/node_modules/tsx
# The source stays root-owned and read-only to the process; uid 1000 is the image's `node` user,
# given numerically so Kubernetes can enforce runAsNonRoot.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.SERVICE_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# exec: node is PID 1 and receives SIGTERM itself, which starts the ordered shutdown.
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/src/main.ts"]
