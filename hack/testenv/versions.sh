# Versions of the local control plane's binaries. Sourced by build, up and the Makefile.
# Bumping one of these rebuilds that binary into a new cache folder.
K8S_VERSION=${K8S_VERSION:-1.34.4}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
HELM_VERSION=${HELM_VERSION:-3.22.0}
# Where built binaries are kept, outside the work tree, keyed by versions.
TESTENV_CACHE=${TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planetscale-operator/testenv}
# PSO_TESTENV_BIN: a folder that already holds etcd, kube-apiserver,
# kube-controller-manager, kubectl and helm; when set, nothing is built.
if [ -n "${PSO_TESTENV_BIN:-}" ]; then
  TESTENV_BIN=$PSO_TESTENV_BIN
else
  TESTENV_BIN=$TESTENV_CACHE/bin-k8s$K8S_VERSION-etcd$ETCD_VERSION-helm$HELM_VERSION
fi
