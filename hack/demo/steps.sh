# The demo's steps after start-up (sourced by hack/demo/up): apply examples/demo/, wait for
# each resource, print the summary.

# sa_kubeconfig ADMIN_KUBECONFIG TOKEN: a kubeconfig for the same server that authenticates
# with TOKEN (a ServiceAccount token), printed on stdout.
sa_kubeconfig() {
  local server ca
  server=$(awk '/server:/{print $2; exit}' "$1")
  ca=$(awk '/certificate-authority-data:/{print $2; exit}' "$1")
  cat <<KC
apiVersion: v1
kind: Config
clusters:
- name: pso-demo
  cluster: {server: "$server", tls-server-name: localhost, certificate-authority-data: "$ca"}
users:
- name: planetscale-operator
  user: {token: "$2"}
contexts:
- name: pso-demo
  context: {cluster: pso-demo, user: planetscale-operator}
current-context: pso-demo
KC
}

# ready_check KIND NAME: succeeds when Ready=True for the current generation; otherwise prints
# the Ready reason (and the deploy request's deployment state) for the progress line.
ready_check() {
  local out gen cgen status reason extra
  out=$(kc -n "$DEMO_NS" get "$1" "$2" -o jsonpath='{.metadata.generation}{"|"}{.status.conditions[?(@.type=="Ready")].observedGeneration}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"|"}{.status.conditions[?(@.type=="Ready")].reason}{"|"}{.status.deploymentState}') ||
    { echo "not created yet"; return 1; }
  IFS='|' read -r gen cgen status reason extra <<<"$out"
  if [ "$status" = True ] && [ "$gen" = "$cgen" ]; then return 0; fi
  kill -0 "$(pid_of operator)" 2>/dev/null || { echo "the operator exited"; return 2; }
  echo "${reason:-no status yet}${extra:+, deployment $extra}"
  return 1
}

# wait_ready KIND NAME LABEL: progress on ready_check; on timeout shows the object, its events
# and the end of the operator's log.
wait_ready() {
  if ! progress "$3/$2 Ready" "$DEMO_WAIT_SECONDS" ready_check "$1" "$2"; then
    kc -n "$DEMO_NS" describe "$1" "$2" >&2 || true
    echo "--- operator log (last 30 lines) ---" >&2
    tail -n 30 "$DEMO_DIR/logs/operator.log" >&2
    return 1
  fi
}

# The developer's DDL on the demo branch: the emulator's admin API sets the branch schema
# (orders gets a `status` column). The deploy request then carries this change to main.
change_schema() {
  curl -fsS -o /dev/null -X PUT -H 'content-type: application/json' \
    --data @"$demo_here/demo-feature-schema.json" \
    "$EMULATOR_URL/_emulator/organizations/acme/databases/shop/branches/demo-feature/schema"
}

apply_examples() {
  local ex=$repo_root/examples/demo
  kc apply -f "$ex/01-branch.yaml" -f "$ex/02-password.yaml" -f "$ex/04-app-password.yaml" \
    -f "$ex/05-postgres-password.yaml" | sed 's/^/demo: /'
  wait_ready planetscalebranch demo-feature PlanetScaleBranch
  change_schema
  say "added column orders.status on branch demo-feature (emulator admin API, as a developer's DDL would)"
  kc apply -f "$ex/03-deploy-request.yaml" | sed 's/^/demo: /'
  wait_ready planetscalepassword demo-app PlanetScalePassword
  wait_ready planetscalepassword demo-app-main PlanetScalePassword
  wait_ready planetscalepassword demo-ledger PlanetScalePassword
  wait_ready deployrequest add-orders-status DeployRequest
  progress "the app sees orders.status on main" "$DEMO_WAIT_SECONDS" app_sees_status ||
    { tail -n 20 "$DEMO_DIR/logs/app.log" >&2; return 1; }
}

# app_sees_status: the application's last answer for main lists the deployed column.
app_sees_status() {
  kill -0 "$(pid_of app)" 2>/dev/null || { echo "the app exited"; return 2; }
  grep '^app: main@' "$DEMO_DIR/logs/app.log" | tail -n 1 | grep -q ',status,'
}

print_summary() {
  local keys
  echo
  kc -n "$DEMO_NS" get planetscalebranch,planetscalepassword,deployrequest
  echo
  keys=$(kc -n "$DEMO_NS" get secret "$PASSWORD_SECRET" \
    -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}')
  echo "Secret $DEMO_NS/$PASSWORD_SECRET keys (values not shown): $keys"
  echo
  echo "The application (hack/demo/app, log $DEMO_DIR/logs/app.log) reading the branches:"
  sed 's/^/  /' "$DEMO_DIR/logs/app.log"
  cat <<EXPLORE

Explore:
  export KUBECONFIG=$DEMO_DIR/kubeconfig
  source $DEMO_DIR/env          # the same KUBECONFIG, plus PATH (kubectl, helm), EMULATOR_URL, SSL_CERT_FILE
  kubectl -n $DEMO_NS describe psbranch demo-feature
  kubectl -n $DEMO_NS describe pspassword demo-app
  kubectl -n $DEMO_NS describe psdr add-orders-status
  kubectl -n $DEMO_NS get events --sort-by=.lastTimestamp
  curl -s \$EMULATOR_URL/_emulator/state     # the emulator's world (no secrets)
  curl -s \$OPERATOR_METRICS_URL | grep '^planetscale_operator_'
  tail -f $DEMO_DIR/logs/operator.log

The PlanetScale emulator is at $EMULATOR_URL (API under /v1, admin API under /_emulator).
Stop everything with: make demo-down
EXPLORE
}
