// Package tencenttest provides a fake of Tencent's Room REST API for tests:
// it checks the UserSig of every request against the app's secret key, as
// Tencent does, serves room state the test sets, and records the requests.
package tencenttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
)

// CodeBadUserSig is the ErrorCode the fake answers a UserSig it does not
// accept with (70009: verification failed).
const CodeBadUserSig = 70009

// Server is a fake REST API for one app.
type Server struct {
	// URL is its base URL: a ChatApp's spec.restAPI.endpoint.
	URL string

	t                     testing.TB
	sdkAppID              int64
	administrator, secret string

	mu       sync.Mutex
	rooms    map[string]map[string]any // RoomId → RoomInfo
	requests []Request
	hold     chan struct{}
	arrived  chan string
}

// Request is a get_room_info call the fake received.
type Request struct {
	At     time.Time
	RoomID string
}

// NewServer starts a fake for sdkAppID whose administrator and secret key
// are the ones given; it stops when the test ends.
func NewServer(t testing.TB, sdkAppID int64, administrator, secretKey string) *Server {
	s := &Server{t: t, sdkAppID: sdkAppID, administrator: administrator, secret: secretKey, rooms: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	answer := func(v map[string]any) { _ = json.NewEncoder(w).Encode(v) }
	q := r.URL.Query()
	if r.Method != http.MethodPost || r.URL.Path != "/v4/room_engine_http_srv/get_room_info" ||
		q.Get("sdkappid") != strconv.FormatInt(s.sdkAppID, 10) || q.Get("identifier") != s.administrator {
		s.t.Errorf("fake Tencent: unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	var body struct{ RoomId string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{At: time.Now(), RoomID: body.RoomId})
	hold, arrived := s.hold, s.arrived
	s.mu.Unlock()

	if c, err := tencent.VerifyUserSig(q.Get("usersig"), s.secret, time.Now()); err != nil || c.Identifier != s.administrator || c.SDKAppID != s.sdkAppID {
		answer(map[string]any{"ActionStatus": "FAIL", "ErrorCode": CodeBadUserSig, "ErrorInfo": "UserSig verification failed"})
		return
	}
	if hold != nil {
		arrived <- body.RoomId
		<-hold
	}
	s.mu.Lock()
	info, ok := s.rooms[body.RoomId]
	s.mu.Unlock()
	if !ok {
		answer(map[string]any{"ActionStatus": "FAIL", "ErrorCode": tencent.CodeRoomNotFound, "ErrorInfo": "room not exist"})
		return
	}
	answer(map[string]any{"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RoomInfo": info})
}

// SetRoom makes the room exist with name (and a few fixed fields).
func (s *Server) SetRoom(roomID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms[roomID] = map[string]any{"RoomId": roomID, "RoomName": name, "Owner_Account": "jack", "IsCloudRecordingDisabled": true}
}

// DeleteRoom makes the room gone (ErrorCode 100004).
func (s *Server) DeleteRoom(roomID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rooms, roomID)
}

// Hold makes the next calls wait before answering: arrived tells of each
// call that waits, release lets them (and later ones) answer.
func (s *Server) Hold() (arrived <-chan string, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hold, ch := make(chan struct{}), make(chan string, 16)
	s.hold, s.arrived = hold, ch
	return ch, func() {
		s.mu.Lock()
		s.hold, s.arrived = nil, nil
		s.mu.Unlock()
		close(hold)
	}
}

// Requests returns the calls received so far about roomID ("" for all).
func (s *Server) Requests(roomID string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if roomID == "" || r.RoomID == roomID {
			out = append(out, r)
		}
	}
	return out
}
