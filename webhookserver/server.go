// Package webhookserver is where Tencent's callbacks enter roomsync: an
// HTTP(S) server, run on every replica, whose Handler checks each callback
// and hands room events to the roomstore.
package webhookserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Path is where callbacks are POSTed.
const Path = "/callback"

// Server timeouts. Tencent gives a callback 2 s, so a client that needs more
// than that to send its headers or body is not Tencent.
const (
	readHeaderTimeout = 2 * time.Second
	readTimeout       = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 90 * time.Second
	maxHeaderBytes    = 64 << 10
	// shutdownTimeout bounds how long in-flight callbacks may take to finish
	// when the operator stops.
	shutdownTimeout = 10 * time.Second
)

// Server serves the callback Handler. It is a controller-runtime Runnable
// that runs on every replica, leader or not.
type Server struct {
	// Addr is the address to listen on, like ":8082".
	Addr string
	// CertDir, when it holds tls.crt and tls.key, makes the server speak
	// HTTPS with them, reloading them when they change.
	CertDir string
	// Handler answers the callbacks.
	Handler http.Handler
	// WaitForCacheSync, when set, is waited for before the server listens,
	// so no callback is refused for lack of a synced cache.
	WaitForCacheSync func(context.Context) bool
	Log              logr.Logger

	serving atomic.Bool
	addr    atomic.Value // net.Addr once listening

	stopOnce sync.Once
	stopped  chan struct{}
}

// Stopped is closed when Start has returned: no callback is being handled
// and none will be.
func (s *Server) Stopped() <-chan struct{} {
	s.stopOnce.Do(func() { s.stopped = make(chan struct{}) })
	return s.stopped
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica answers callbacks.
func (s *Server) NeedLeaderElection() bool { return false }

// ListenAddr returns the address the server listens on, once it does.
func (s *Server) ListenAddr() net.Addr {
	addr, _ := s.addr.Load().(net.Addr)
	return addr
}

// ReadyCheck is a readiness check: ready once the server listens.
func (s *Server) ReadyCheck(_ *http.Request) error {
	if !s.serving.Load() {
		return errors.New("callback server is not serving yet")
	}
	return nil
}

// Start serves until ctx is done, then lets in-flight callbacks finish.
func (s *Server) Start(ctx context.Context) error {
	s.Stopped()
	defer close(s.stopped)
	if s.WaitForCacheSync != nil && !s.WaitForCacheSync(ctx) {
		return errors.New("callback server: caches did not sync")
	}

	mux := http.NewServeMux()
	mux.Handle(Path, s.Handler)
	mux.HandleFunc("/", unknownPath)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}

	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("callback server: listening on %s: %w", s.Addr, err)
	}
	scheme := "http"
	certFile, keyFile := filepath.Join(s.CertDir, "tls.crt"), filepath.Join(s.CertDir, "tls.key")
	if s.CertDir != "" && fileExists(certFile) && fileExists(keyFile) {
		watcher, err := certwatcher.New(certFile, keyFile)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("callback server: loading certificate from %s: %w", s.CertDir, err)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				s.Log.Error(err, "Watching the callback certificate failed; it will not be reloaded")
			}
		}()
		ln = tls.NewListener(ln, &tls.Config{GetCertificate: watcher.GetCertificate, MinVersion: tls.VersionTLS12})
		scheme = "https"
	} else {
		s.Log.Info("WARNING: serving callbacks over plain HTTP. Sign covers neither the body nor the query, so a captured " +
			"callback can be altered and replayed within maxClockSkew. Put tls.crt and tls.key in --callback-cert-dir, " +
			"or terminate TLS in front of roomsync.")
	}
	s.addr.Store(ln.Addr())

	shutdownDone := make(chan struct{})
	go func() {
		defer close(shutdownDone)
		<-ctx.Done()
		s.serving.Store(false)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.Log.Error(err, "Callback server did not shut down cleanly")
		}
	}()

	s.Log.Info("Serving callbacks", "address", scheme+"://"+ln.Addr().String()+Path)
	s.serving.Store(true)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		s.serving.Store(false)
		return fmt.Errorf("callback server: %w", err)
	}
	<-shutdownDone
	return nil
}

// unknownPath answers requests for any path but Path, in the same JSON.
func unknownPath(w http.ResponseWriter, r *http.Request) {
	fail(http.StatusNotFound, CodeUnknownPath, resultRejected, "no such path %q: callbacks are POSTed to %s", r.URL.Path, Path).write(w)
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
