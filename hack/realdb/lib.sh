# Shared functions of hack/realdb/{install,up,down,env}. Sourced, never run.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Debian packages unpacked (never installed) into the cache, with their missing libraries.
REALDB_CACHE=${REALDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planetscale-operator/realdb}
# State of one running set of servers: data, sockets, certificates, logs, PIDs.
REALDB_DIR=${REALDB_DIR:-$repo_root/.realdb}

# Package sets; `install SET...` unpacks each into $REALDB_CACHE/SET.
pkgs_servers="mariadb-server-core mariadb-client-core postgresql-15 postgresql-client-15 libpq5"
pkgs_ruby="ruby3.1 libruby3.1 ruby-mysql2 ruby-pg ruby-activerecord"
pkgs_php="php8.2-cli php8.2-common php8.2-mysql php8.2-pgsql"

say() { echo "realdb: $*"; }
fail() { echo "realdb: $*" >&2; exit 1; }

# The dependency closure of PACKAGES minus what this machine already has installed.
missing_closure() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' 2>/dev/null | awk '$2=="installed"{print $1}')
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$@" 2>/dev/null | grep -E '^[a-z0-9]' | sort -u |
    grep -vxF -f <(echo "$installed") |
    # virtual packages (no version to download) drop out here
    xargs -r apt-cache show --no-all-versions 2>/dev/null | awk '/^Package: /{print $2}' | sort -u
}

# root of an unpacked set, e.g. $(set_root servers)
set_root() { echo "$REALDB_CACHE/$1/root"; }

# LD_LIBRARY_PATH for binaries of a set.
set_libs() {
  local r; r=$(set_root "$1")
  echo "$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu:$r/usr/lib/x86_64-linux-gnu/libfakeroot"
}

# pids file: NAME PID per line
start_bg() {
  local name=$1; shift
  setsid "$@" >"$REALDB_DIR/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$REALDB_DIR/pids"
}

# Loopback addresses: MySQL branch servers on $REALDB_NET.1-60 port 3306 (the port every
# PlanetScale connection string has), PostgreSQL on $REALDB_NET.100 port 5432. Override with
# REALDB_NET (e.g. 127.0.84) when another set runs on this machine.
REALDB_NET=${REALDB_NET:-127.0.83}
MYSQL_SLOTS=60
PG_IP_SUFFIX=100

servers_root() { set_root servers; }
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
