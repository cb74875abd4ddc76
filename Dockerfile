# syntax=docker/dockerfile:1
# Build: compile TypeScript, keep only production dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci runs `prepare`, which bundles the dashboard: its sources and the generated client first.
COPY tsconfig.json tsconfig.build.json ./
COPY dashboard ./dashboard
COPY src ./src
RUN npm ci
RUN npm run build && npm prune --omit=dev

# Run: non-root, compiled code, the schema files, a health check on /healthz.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    GRPC_PORT=50051 \
    AUREN_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/dashboard/build ./dashboard/build
COPY package.json ./
COPY bin ./bin
COPY sql ./sql
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/auren.js"]
CMD ["serve"]
