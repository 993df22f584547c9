package webhookserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// startServer runs a Server with handler until the test ends. stop cancels
// it and returns what Start returned; it may be called more than once.
func startServer(t *testing.T, certDir string, handler http.Handler) (s *Server, stop func() error) {
	t.Helper()
	s = &Server{Addr: "127.0.0.1:0", CertDir: certDir, Handler: handler, Log: logr.Discard()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	stop = sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { _ = stop() })
	deadline := time.Now().Add(5 * time.Second)
	for s.ReadyCheck(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, stop
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number into dir, and returns it.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "roomsync-test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Write both to temporary files and rename them, as a Secret volume
	// update swaps them at once.
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // we check which certificate is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestServerHTTPSReloadsItsCertificate(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, 1)
	s, _ := startServer(t, dir, okHandler)
	addr := s.ListenAddr().String()

	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Post("https://"+addr+Path, "application/json", nil)
	if err != nil {
		t.Fatalf("HTTPS request with the served certificate trusted: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp, err := http.Post("http://"+addr+Path, "application/json", nil); err == nil && resp.StatusCode == http.StatusOK {
		t.Fatal("plain HTTP answered on the HTTPS port")
	}

	writeCert(t, dir, 2)
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t, addr) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not picked up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServerAnswersOtherPathsInJSON(t *testing.T) {
	s, _ := startServer(t, "", okHandler)
	resp, err := http.Post("http://"+s.ListenAddr().String()+"/callbacks", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answerBody
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusNotFound ||
		ErrorCode(a.ErrorCode) != CodeUnknownPath || a.ActionStatus != "FAIL" {
		t.Fatalf("answer %d %+v (%v), want 404 with ErrorCode %d", resp.StatusCode, a, err, CodeUnknownPath)
	}
}

func TestServerCutsOffSlowClients(t *testing.T) {
	s, _ := startServer(t, "", okHandler)
	conn, err := net.Dial("tcp", s.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers that never end.
	if _, err := io.WriteString(conn, "POST /callback HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(readHeaderTimeout + 5*time.Second))
	_, err = io.ReadAll(conn)
	if elapsed := time.Since(start); err != nil || elapsed > readHeaderTimeout+2*time.Second {
		t.Fatalf("slow client held the connection for %s (err %v), want it closed after about %s", elapsed, err, readHeaderTimeout)
	}
}

func TestServerLetsInFlightCallbacksFinish(t *testing.T) {
	entered := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "stored")
	})
	s, stop := startServer(t, "", slow)
	result := make(chan string, 1)
	go func() {
		resp, err := http.Post("http://"+s.ListenAddr().String()+Path, "application/json", nil)
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- string(b)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	if got := <-result; got != "stored" {
		t.Fatalf("in-flight callback got %q during shutdown, want its answer", got)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Start returned %v after a clean shutdown", err)
	}
	if s.ReadyCheck(nil) == nil {
		t.Error("still ready after shutdown")
	}
}
