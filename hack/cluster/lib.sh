# Shared by hack/cluster/*: paths, versions, and a Docker daemon to talk to.
# Sourced; sets DOCKER (the client) and DOCKER_HOST when we run our own dockerd.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo_root/hack/testenv/versions.sh"
# Cached outside the work tree, like the control plane: node binaries, root filesystems, and the
# data of the dockerd we start ourselves (so built images survive `cluster-down`).
CLUSTER_CACHE=${CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planetscale-operator/cluster}
NODE_BIN=$CLUSTER_CACHE/node-bin-k8s$K8S_VERSION
CLUSTER_DIR=${CLUSTER_DIR:-$repo_root/.cluster}
NODE_NAME=${NODE_NAME:-pso-node-$(printf %s "$CLUSTER_DIR" | sha1sum | cut -c1-8)}
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Our own dockerd (only when no daemon answers): its socket, pid file and state.
PSO_DOCKER_RUN=${PSO_DOCKER_RUN:-/run/pso-docker}
PSO_DOCKER_ROOT=${PSO_DOCKER_ROOT:-$CLUSTER_CACHE/docker}
# Images built here are tagged with this prefix and a content hash.
IMAGE_PREFIX=${IMAGE_PREFIX:-localhost/pso}

now_ms() { date +%s%3N; }
log() { echo "cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# Debian's client (20.10, with its built-in BuildKit) when present: a newer client without the
# buildx plugin cannot use BuildKit, and the Dockerfile needs it to skip unused stages.
# Resolved again once install-deps may have installed docker.io: on a fresh machine the script
# sourcing this file ran before /usr/bin/docker existed, and another client on the PATH (one
# without buildx) would have been kept for the builds.
DOCKER_CHOSEN=${DOCKER:+user}
resolve_docker() {
  [ "$DOCKER_CHOSEN" = user ] && return 0
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
}
resolve_docker
export DOCKER_BUILDKIT=1

# docker_ready: a daemon answers (DOCKER_HOST as set, the default socket, or ours).
docker_ready() {
  resolve_docker
  if [ -z "${DOCKER_HOST:-}" ] && "$DOCKER" info >/dev/null 2>&1; then return 0; fi
  if [ -n "${DOCKER_HOST:-}" ] && "$DOCKER" info >/dev/null 2>&1; then return 0; fi
  if [ -S "$PSO_DOCKER_RUN/docker.sock" ] && DOCKER_HOST=unix://$PSO_DOCKER_RUN/docker.sock "$DOCKER" info >/dev/null 2>&1; then
    export DOCKER_HOST=unix://$PSO_DOCKER_RUN/docker.sock; return 0
  fi
  return 1
}

# ensure_docker: use a running daemon, else start Debian's dockerd with its own socket, pid file
# and data root, and without touching the host's iptables (no NAT: nodes need no internet; the
# API server is published on loopback through docker-proxy). hack/cluster/docker-down stops it.
ensure_docker() {
  docker_ready && return 0
  command -v dockerd >/dev/null || die "no Docker daemon answers and dockerd is not installed: run hack/cluster/install-deps"
  mkdir -p "$PSO_DOCKER_RUN" "$PSO_DOCKER_ROOT"
  log "starting dockerd (data root $PSO_DOCKER_ROOT, socket $PSO_DOCKER_RUN/docker.sock)"
  setsid dockerd --data-root "$PSO_DOCKER_ROOT" --exec-root "$PSO_DOCKER_RUN/exec" \
    --pidfile "$PSO_DOCKER_RUN/dockerd.pid" -H "unix://$PSO_DOCKER_RUN/docker.sock" \
    --iptables=false --ip-masq=false --storage-driver=overlay2 --log-level=warn \
    >"$PSO_DOCKER_RUN/dockerd.log" 2>&1 </dev/null &
  echo $! > "$PSO_DOCKER_RUN/started-by-pso"
  export DOCKER_HOST=unix://$PSO_DOCKER_RUN/docker.sock
  local deadline=$(( $(date +%s) + 60 ))
  until "$DOCKER" info >/dev/null 2>&1; do
    kill -0 "$(cat "$PSO_DOCKER_RUN/started-by-pso")" 2>/dev/null || { tail -n 30 "$PSO_DOCKER_RUN/dockerd.log" >&2; die "dockerd exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 30 "$PSO_DOCKER_RUN/dockerd.log" >&2; die "dockerd not ready after 60s"; }
    sleep 0.2
  done
}

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
