package tencenttest

import (
	"slices"
	"sync"
)

// servers are the fakes started in this process, for [Servers].
var servers struct {
	mu  sync.Mutex
	all []*Server
}

// Servers returns every fake started in this process so far, stopped or
// not: a test suite's leak check asks them which credentials they held and
// accepted, so that a test cannot forget to tell it.
func Servers() []*Server {
	servers.mu.Lock()
	defer servers.mu.Unlock()
	return slices.Clone(servers.all)
}

// SecretKey returns the app's secret key: the one the fake checks
// UserSigs with.
func (s *Server) SecretKey() string { return s.secret }

// CallbackToken returns the token the fake signs its callbacks with ("" when
// they are unsigned).
func (s *Server) CallbackToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// AcceptedUserSigs returns each UserSig the fake accepted (that verified
// with the secret key, for the app's administrator), once, in the order
// first seen.
func (s *Server) AcceptedUserSigs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accepted)
}

// accept records userSig as accepted.
func (s *Server) accept(userSig string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.accepted, userSig) {
		s.accepted = append(s.accepted, userSig)
	}
}
