# Bedside container image. Node 22 LTS; better-sqlite3 builds from source if no prebuilt binary fits.
# The TypeScript is compiled once, when the image is built; the server runs as plain node on the
# output (dist/). src/ stays in the image for the `bedside` command (npx bedside ..., run by tsx).

FROM node:22-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY test/stubs ./test/stubs
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
# The server runs as node, so the folders it writes belong to node: /data (the VOLUME, the
# embedded store's DATA_DIR) and /app/data (EXPORT_DIR's default with MONGODB_URI, as in
# docker-compose.yml). Created before VOLUME, so a new volume starts out owned by node.
RUN mkdir -p /data /app/data && chown node:node /data /app/data
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data NODE_ENV=production
VOLUME ["/data"]
EXPOSE 8080
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
