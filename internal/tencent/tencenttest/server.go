// Package tencenttest provides a fake of Tencent's Room REST API for tests.
// It answers as Tencent documents the API, not as roomsync's client expects:
// its answers are built from the documented sample answers kept verbatim in
// testdata/ (see testdata/README.md), it checks every request's URL, query
// and body against the documented request, and it checks the UserSig against
// the app's secret key, as Tencent does. It keeps room state that the test
// sets, and records the requests.
package tencenttest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
)

// Samples holds Tencent's documented sample requests and answers, by
// command: <command>/request.json, <command>/response.json and
// <command>/error-<ErrorCode>.json.
//
//go:embed testdata
var samples embed.FS

// Sample returns the documented sample file name of command, verbatim.
func Sample(command, name string) []byte {
	data, err := samples.ReadFile("testdata/" + command + "/" + name)
	if err != nil {
		panic(fmt.Sprintf("tencenttest: no sample %s/%s: %v", command, name, err))
	}
	return data
}

// ErrorCodes the fake answers with, each from its documented sample.
const (
	// CodeBadUserSig: the UserSig does not verify (wrong secret key, wrong
	// administrator or sdkAppID, expired).
	CodeBadUserSig = 70009
	// CodeBadBody: the body is not JSON.
	CodeBadBody = 90001
	// CodeBadParameter: the body lacks a required field.
	CodeBadParameter = 100002
)

// Server is a fake REST API for one app.
type Server struct {
	// URL is its base URL: a ChatApp's spec.restAPI.endpoint.
	URL string

	t                     testing.TB
	sdkAppID              int64
	administrator, secret string

	mu       sync.Mutex
	rooms    map[string]map[string]any // RoomId → RoomInfo, as Tencent answers it
	raw      map[string][]byte         // RoomId → an answer given verbatim instead
	requests []Request
	hold     chan struct{}
	arrived  chan string
	seq      int
}

// Request is a get_room_info call the fake received.
type Request struct {
	At     time.Time
	RoomID string
}

// NewServer starts a fake for sdkAppID whose administrator and secret key
// are the ones given; it stops when the test ends.
func NewServer(t testing.TB, sdkAppID int64, administrator, secretKey string) *Server {
	s := &Server{
		t: t, sdkAppID: sdkAppID, administrator: administrator, secret: secretKey,
		rooms: map[string]map[string]any{}, raw: map[string][]byte{},
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodPost || r.URL.Path != "/v4/room_engine_http_srv/"+tencent.CommandGetRoomInfo ||
		q.Get("sdkappid") != strconv.FormatInt(s.sdkAppID, 10) || q.Get("identifier") != s.administrator ||
		q.Get("contenttype") != "json" || !isUint32(q.Get("random")) {
		s.t.Errorf("fake Tencent: a request Tencent does not document: %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	var body struct{ RoomId *string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.answer(w, Sample(tencent.CommandGetRoomInfo, "error-"+strconv.Itoa(CodeBadBody)+".json"))
		return
	}
	roomID := ""
	if body.RoomId != nil {
		roomID = *body.RoomId
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{At: time.Now(), RoomID: roomID})
	hold, arrived := s.hold, s.arrived
	s.mu.Unlock()

	if c, err := tencent.VerifyUserSig(q.Get("usersig"), s.secret, time.Now()); err != nil || c.Identifier != s.administrator || c.SDKAppID != s.sdkAppID {
		s.answerError(w, CodeBadUserSig)
		return
	}
	if body.RoomId == nil {
		s.answerError(w, CodeBadParameter)
		return
	}
	if hold != nil {
		arrived <- roomID
		<-hold
	}
	s.mu.Lock()
	info, ok := s.rooms[roomID]
	raw, isRaw := s.raw[roomID]
	s.mu.Unlock()
	switch {
	case isRaw:
		s.answer(w, raw)
	case !ok:
		s.answerError(w, tencent.CodeRoomNotFound)
	default:
		s.answerOK(w, map[string]any{"RoomInfo": info})
	}
}

// answerOK answers as the documented sample does, with response as its
// Response and a RequestId of its own.
func (s *Server) answerOK(w http.ResponseWriter, response map[string]any) {
	var a map[string]any
	if err := json.Unmarshal(Sample(tencent.CommandGetRoomInfo, "response.json"), &a); err != nil {
		panic(err)
	}
	a["RequestId"] = s.requestID()
	a["Response"] = response
	data, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	s.answer(w, data)
}

// answerError answers with the documented failure of code.
func (s *Server) answerError(w http.ResponseWriter, code int) {
	var a map[string]any
	if err := json.Unmarshal(Sample(tencent.CommandGetRoomInfo, "error-"+strconv.Itoa(code)+".json"), &a); err != nil {
		panic(err)
	}
	if _, ok := a["RequestId"]; ok {
		a["RequestId"] = s.requestID()
	}
	data, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	s.answer(w, data)
}

// answer writes data as Tencent does: HTTP 200, JSON.
func (s *Server) answer(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("Id-%032x-O-Seq-%d", rand.Uint64(), s.seq)
}

func isUint32(v string) bool {
	_, err := strconv.ParseUint(v, 10, 32)
	return err == nil
}

// SetRoom makes the room exist with name. Its other fields are those of the
// documented sample room (a Conference owned by user2, cloud recording
// disabled).
func (s *Server) SetRoom(roomID, name string) {
	var sample struct {
		Response struct{ RoomInfo map[string]any }
	}
	if err := json.Unmarshal(Sample(tencent.CommandGetRoomInfo, "response.json"), &sample); err != nil {
		panic(err)
	}
	info := maps.Clone(sample.Response.RoomInfo)
	info["RoomId"], info["RoomName"] = roomID, name
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rooms[roomID] = info
	delete(s.raw, roomID)
}

// SetAnswer makes the fake answer every get_room_info of roomID with body,
// verbatim: for answers Tencent does not document.
func (s *Server) SetAnswer(roomID string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw[roomID] = bytes.Clone(body)
}

// DeleteRoom makes the room gone (ErrorCode 100004).
func (s *Server) DeleteRoom(roomID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rooms, roomID)
	delete(s.raw, roomID)
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
