package testenv

import (
	"net"
	"net/url"
	"strconv"
	"testing"
)

// TestFreeAddrAvoidsEphemeralPorts: an address handed out is bound by a
// process later, sometimes a minute later; a port of the kernel's
// ephemeral range could be taken meanwhile by any outgoing connection.
func TestFreeAddrAvoidsEphemeralPorts(t *testing.T) {
	low := ephemeralLow()
	seen := map[string]bool{}
	for range 200 {
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if low > freeBelow+1000 && (port < freeBelow || port >= low) {
			t.Errorf("port %d is outside [%d, %d), below the ephemeral range", port, freeBelow, low)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is not free: %v", addr, err)
			continue
		}
		_ = ln.Close()
	}
	t.Logf("ephemeral ports start at %d", low)

	// The control plane's too: StartControlPlane binds them again.
	api, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	for name, hostPort := range map[string]string{"kube-apiserver": api.Host, "etcd": env.ControlPlane.Etcd.URL.Host} {
		_, p, _ := net.SplitHostPort(hostPort)
		port, _ := strconv.Atoi(p)
		if low > freeBelow+1000 && (port < freeBelow || port >= low) {
			t.Errorf("%s listens on port %d, outside [%d, %d)", name, port, freeBelow, low)
		}
	}
}
