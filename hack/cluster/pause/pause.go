// pause: the sandbox ("pause") container of every Pod on the local node. No registry can be
// reached here, so hack/cluster/build-base builds this instead of pulling registry.k8s.io/pause.
// It sleeps until SIGTERM or SIGINT, and reaps children (it is PID 1 of the Pod's PID namespace
// when the Pod shares one).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s == syscall.SIGCHLD {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
