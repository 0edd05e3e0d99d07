# faultline as a container image, for running experiments in a cluster (`faultline kubernetes manifest`)
# or in CI. Build it from the repository root:
#
#   docker build -t faultline:0.1.0 .
#
# then push it where your cluster pulls from, or load it into a local cluster (kind load docker-image,
# k3d image import, minikube image load), and pass --image to `faultline kubernetes manifest`.
# The test environment has no registry to pull node:20 from, so its tests run an image of the same
# layout built from a rootfs tarball (testenv/faultline-image.ts; test/faultline-image.e2e.test.ts
# holds this file's layout to that one's): change the two together.

# Build: the compiled project and its production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schema ./schema
COPY bin ./bin
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

# Run: node, the built CLI, nothing else of the build.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/faultline
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/schema ./schema
RUN ln -s /opt/faultline/bin/faultline.js /usr/local/bin/faultline
# The image's own unprivileged user (uid 1000), the one the generated Job runs as.
USER node
WORKDIR /home/node
ENTRYPOINT ["faultline"]
CMD ["--help"]
