# planetscale-operator and planetscale-emulator images, non-root (65532), for a read-only root
# filesystem. Online (any Docker with BuildKit):
#   docker build -t planetscale-operator:dev .
#   docker build --target emulator -t planetscale-emulator:dev .
# Offline, as `make image` does here (no registry reachable): the binaries are built on the host
# (cargo build --release) and handed in under .image-bin/, on a base image built locally
# (hack/cluster/build-base):
#   docker build --build-arg BINARIES=host --build-arg BASE_IMAGE=<local base> .
# BuildKit builds only the stages the target needs, so the offline build never touches
# BUILD_IMAGE. The chart runs the operator with `args: ["run"]`, uid/gid 65532 and a read-only
# root filesystem.
ARG BUILD_IMAGE=docker.io/library/rust:1.95-bookworm
# glibc and libgcc, CA certificates, no shell; the `nonroot` tag runs as 65532:65532.
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# Where the binaries come from: `build` (compiled in BUILD_IMAGE) or `host` (.image-bin/).
ARG BINARIES=build

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build output between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p planetscale-operator -p planetscale-emulator --bin planetscale-operator --bin planetscale-emulator \
 && install -D -m 0755 target/release/planetscale-operator /out/planetscale-operator \
 && install -D -m 0755 target/release/planetscale-emulator /out/planetscale-emulator

FROM scratch AS host
COPY .image-bin/ /out/

FROM ${BINARIES} AS binaries

# The emulator (docs/emulator.md#as-a-container): listens on 0.0.0.0:8787 in the container.
FROM ${BASE_IMAGE} AS emulator
COPY --from=binaries /out/planetscale-emulator /usr/local/bin/planetscale-emulator
USER 65532:65532
EXPOSE 8787
ENV PLANETSCALE_EMULATOR_LISTEN=0.0.0.0:8787
ENTRYPOINT ["/usr/local/bin/planetscale-emulator"]

# The operator: the last stage, so a plain `docker build .` builds it.
FROM ${BASE_IMAGE} AS operator
COPY --from=binaries /out/planetscale-operator /usr/local/bin/planetscale-operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/planetscale-operator"]
CMD ["run"]
