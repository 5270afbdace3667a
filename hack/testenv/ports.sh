# free_port [PORT...]: a loopback port nothing listens on (checked by connecting to it), below
# the kernel's ephemeral range — the local ports of outgoing connections come from that range,
# and a listener cannot bind a port one of them holds — and none of the PORTs given (picked
# before, not bound yet). Sourced by hack/testenv/lib.sh and hack/demo/lib.sh.
free_port() {
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$lo" -gt 11000 ] 2>/dev/null || lo=32768
  while :; do
    p=$(( 10000 + RANDOM % (lo - 10000) ))
    [[ " $* " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
