# Shared functions of hack/testenv/{up,down,status}.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTENV_DIR=${TESTENV_DIR:-$repo_root/.testenv}

now_ms() { date +%s%3N; }

. "$repo_root/hack/testenv/ports.sh"

# start NAME BINARY ARGS... : runs in its own process group, logs to logs/NAME.log, records the PID.
start() {
  local name=$1; shift
  setsid "$@" >"$TESTENV_DIR/logs/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$TESTENV_DIR/pids"
}

pid_of() { awk -v n="$1" '$1==n {print $2}' "$TESTENV_DIR/pids" 2>/dev/null; }

all_alive() {
  local name pid
  while read -r name pid; do kill -0 "$pid" 2>/dev/null || return 1; done < "$TESTENV_DIR/pids"
  [ -s "$TESTENV_DIR/pids" ]
}

# wait_http NAME URL SECONDS [curl args]: polls until 200; on timeout prints the log tail.
wait_http() {
  local name=$1 url=$2 secs=$3; shift 3
  local deadline=$(( $(date +%s) + secs )) pid
  pid=$(pid_of "$name")
  until curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "testenv: $name exited; last log lines:" >&2; tail -n 30 "$TESTENV_DIR/logs/$name.log" >&2; return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "testenv: $name not ready at $url after ${secs}s; last log lines:" >&2
      tail -n 30 "$TESTENV_DIR/logs/$name.log" >&2; return 1
    fi
    sleep 0.1
  done
}

# wait_cmd WHAT SECONDS CMD...: polls until CMD succeeds.
wait_cmd() {
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "testenv: timed out waiting for $what" >&2; "$@" >&2 || true; return 1; fi
    sleep 0.2
  done
}

make_certs() {
  local D=$1
  ec() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
  ec "$D/ca.key"
  openssl req -x509 -new -key "$D/ca.key" -subj /CN=pso-testenv-ca -days 7 -out "$D/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  ec "$D/apiserver.key"
  openssl req -new -key "$D/apiserver.key" -subj /CN=kube-apiserver -out "$D/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' > "$D/srv.ext"
  openssl x509 -req -in "$D/apiserver.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 7 \
    -extfile "$D/srv.ext" -out "$D/apiserver.crt" 2>/dev/null
  ec "$D/admin.key.ec"
  openssl pkcs8 -topk8 -nocrypt -in "$D/admin.key.ec" -out "$D/admin.key"
  openssl req -new -key "$D/admin.key" -subj "/O=system:masters/CN=admin" -out "$D/admin.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > "$D/cli.ext"
  openssl x509 -req -in "$D/admin.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 7 \
    -extfile "$D/cli.ext" -out "$D/admin.crt" 2>/dev/null
  ec "$D/sa.key"
  openssl ec -in "$D/sa.key" -pubout -out "$D/sa.pub" 2>/dev/null
}

write_kubeconfig() {
  local out=$1 server=$2 C=$3
  cat > "$out" <<KC
apiVersion: v1
kind: Config
clusters:
- name: pso-testenv
  cluster:
    server: $server
    tls-server-name: localhost
    certificate-authority-data: $(base64 -w0 < "$C/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 < "$C/admin.crt")
    client-key-data: $(base64 -w0 < "$C/admin.key")
contexts:
- name: pso-testenv
  context: {cluster: pso-testenv, user: admin}
current-context: pso-testenv
KC
  chmod 600 "$out"
}
