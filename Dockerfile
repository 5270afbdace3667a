# syntax=docker/dockerfile:1.7
# planetscale-operator image: the operator binary on a distroless base, running as non-root.
#   docker build -t planetscale-operator:dev .
# The chart runs it with `args: ["run"]`, uid/gid 65532 and a read-only root filesystem.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build output between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin planetscale-operator \
 && install -D -m 0755 target/release/planetscale-operator /out/planetscale-operator

# glibc and libgcc, CA certificates, no shell; the `nonroot` tag runs as 65532:65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/planetscale-operator /usr/local/bin/planetscale-operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/planetscale-operator"]
CMD ["run"]
