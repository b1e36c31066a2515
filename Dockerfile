# swarmgate image for users with internet access: build a static binary, ship it alone.
#
#   docker build -t swarmgate:dev .
#
# (Offline, as CI does it: .ci/build-images.sh builds the same static binary with the local
# toolchain and wraps it in a FROM-scratch image.)

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# crt-static links glibc statically, so the binary runs in an empty (scratch) image.
RUN target="$(uname -m)-unknown-linux-gnu" \
 && RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked \
        --target "$target" --bin swarmgate \
 && cp "target/$target/release/swarmgate" /swarmgate \
 && strip /swarmgate

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /swarmgate /swarmgate
# Also on PATH as `traefik`, so Traefik stacks' `["CMD", "traefik", "healthcheck", "--ping"]`
# works unchanged (invoked as `traefik`, the binary behaves as swarmgate).
COPY --from=build /swarmgate /usr/local/bin/traefik
ENV PATH=/usr/local/bin
EXPOSE 80 443
ENTRYPOINT ["/swarmgate"]
