# Shared settings and functions of hack/demo/{up,down}.
demo_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$demo_here/../.." && pwd)
. "$repo_root/hack/testenv/versions.sh"

# Everything the demo starts lives here (PIDs, logs, kubeconfigs); PSO_DEMO_DIR moves it
# (the demo test uses a temporary folder so it never touches a `make demo` you left running).
DEMO_DIR=${PSO_DEMO_DIR:-$repo_root/.demo}
# The demo's own control plane, never the test one in .testenv.
DEMO_TESTENV_DIR=$DEMO_DIR/testenv
DEMO_NS=demo
OPERATOR_NS=planetscale-system
CREDENTIALS_SECRET=planetscale-credentials
PASSWORD_SECRET=demo-feature-db
# How long one wait may take before the demo gives up and shows what it saw.
DEMO_WAIT_SECONDS=${PSO_DEMO_WAIT_SECONDS:-180}

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
[ -t 1 ] || say() { printf 'demo: %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

kc() { "$TESTENV_BIN/kubectl" --kubeconfig "$DEMO_DIR/kubeconfig" "$@"; }

. "$repo_root/hack/testenv/ports.sh"

# start NAME CMD... : own process group, output in logs/NAME.log, PID recorded in pids.
start() {
  local name=$1; shift
  setsid "$@" >"$DEMO_DIR/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$DEMO_DIR/pids"
}

pid_of() { awk -v n="$1" '$1==n {print $2}' "$DEMO_DIR/pids" 2>/dev/null; }

# progress WHAT SECONDS CHECK... : runs CHECK until it succeeds, showing what it waits for with
# the elapsed time (one updating line on a terminal, a line every 5 s otherwise). CHECK may
# print a short note (e.g. the current condition reason) that is shown next to the time; exit
# status 2 means "give up now" (e.g. the process it waits for has exited).
progress() {
  local what=$1 secs=$2; shift 2
  local t0 now note="" last_print=-5 elapsed rc
  t0=$(date +%s)
  while :; do
    note=$("$@" 2>/dev/null) && rc=0 || rc=$?
    if [ "$rc" = 0 ]; then
      elapsed=$(( $(date +%s) - t0 ))
      if [ -t 1 ]; then printf '\r\033[K'; fi
      say "$what ✓ (${elapsed}s)"
      return 0
    fi
    now=$(date +%s); elapsed=$(( now - t0 ))
    if [ "$elapsed" -ge "$secs" ] || [ "$rc" = 2 ]; then
      if [ -t 1 ]; then printf '\r\033[K'; fi
      say "gave up waiting for $what after ${elapsed}s${note:+ ($note)}" >&2
      return 1
    fi
    if [ -t 1 ]; then
      printf '\r\033[Kdemo: waiting for %s… %ss%s' "$what" "$elapsed" "${note:+  ($note)}"
    elif [ $(( elapsed - last_print )) -ge 5 ]; then
      printf 'demo: waiting for %s… %ss%s\n' "$what" "$elapsed" "${note:+  ($note)}"
      last_print=$elapsed
    fi
    sleep 0.5
  done
}
