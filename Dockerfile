# syntax=docker/dockerfile:1
#
# kdns container image: a drop-in for registry.k8s.io/coredns/coredns.
#
#   docker build -t <registry>/kdns:0.1.0 .
#   docker run --rm <registry>/kdns:0.1.0 -conf /etc/coredns/Corefile
#
# Like CoreDNS's image (ENTRYPOINT ["/coredns"]), the entrypoint is the server itself, so a
# Deployment's `args: ["-conf", "/etc/coredns/Corefile"]` become kdns flags unchanged.

ARG NODE_BUILDER=node:24-bookworm-slim
# Runtime: distroless Node 24 (Debian 12, glibc), tag :nonroot = uid/gid 65532.
# Chosen over node:24-alpine because it has no shell, no package manager and no npm/yarn
# (a far smaller attack surface and CVE count for a cluster-critical pod), it runs as 65532
# by default (the uid the manifests pin), and it is glibc like the builder, so nothing
# built or copied from the builder stage differs in libc.
ARG NODE_RUNTIME=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${NODE_RUNTIME} AS runtime-base

# ---- build: compile TypeScript, then keep production dependencies only -------------------
FROM ${NODE_BUILDER} AS builder
WORKDIR /app
# Dependencies first (cached layer). --ignore-scripts: `prepare` would run the build before
# the sources are copied; no runtime dependency has an install script.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

# The wrapper that is the image's ENTRYPOINT: /usr/local/bin/kdns <flags> runs
# node /app/dist/cli.js <flags>. It is a node script (distroless has no shell); argv[1] is set to
# the CLI path so the CLI sees exactly what `node /app/dist/cli.js <flags>` would give it.
RUN mkdir -p /out && printf '%s\n' \
      '#!/nodejs/bin/node --max-semi-space-size=4' \
      '// kdns entrypoint: container args are kdns flags (-conf, -dns.port, ...).' \
      "process.argv[1] = '/app/dist/cli.js';" \
      "import('/app/dist/cli.js').catch((err) => { console.error(err); process.exit(1); });" \
      > /out/kdns && chmod 0755 /out/kdns

# Give the runtime's node binary cap_net_bind_service, as CoreDNS's image does for /coredns:
# the pod runs as uid 65532 with capabilities drop ALL / add NET_BIND_SERVICE and
# allowPrivilegeEscalation false (kubeadm's Deployment), and a non-root process only gets the
# capability through file capabilities on the executable. This is what lets kdns bind :53
# in kubeadm's unmodified `coredns` Deployment (which sets no unprivileged-port sysctl).
COPY --from=runtime-base /nodejs/bin/node /out/node
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && setcap cap_net_bind_service=+ep /out/node \
 && getcap /out/node

# ---- runtime ---------------------------------------------------------------------------------
FROM runtime-base
WORKDIR /app
ENV NODE_ENV=production
# COPY --from keeps the security.capability xattr (CoreDNS's image relies on the same).
COPY --from=builder /out/node /nodejs/bin/node
COPY --from=builder /app/package.json ./package.json
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
COPY --from=builder /out/kdns /usr/local/bin/kdns
# Numeric user so kubelet can verify runAsNonRoot (65532 = distroless `nonroot`).
USER 65532:65532
# DNS (UDP+TCP), prometheus, health, ready
EXPOSE 53/udp 53/tcp 9153 8080 8181
ENTRYPOINT ["/usr/local/bin/kdns"]
