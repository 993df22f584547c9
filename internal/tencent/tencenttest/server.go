// Package tencenttest provides a fake of Tencent's Room REST API for tests.
// It answers as Tencent documents the API, not as roomsync's client expects:
// its answers are built from the documented sample answers kept in testdata/
// (see testdata/README.md for which are verbatim), it checks every request's
// URL, query and body against the documented request, and it checks the
// UserSig against the app's secret key, as Tencent does. It keeps the rooms
// that create_room, update_room_info and destroy_room change (or the test
// sets), their seats, and the app's one callback configuration; after each
// change of a room it sends the matching callback to the configured URL, as
// Tencent does. It records the requests, the callbacks it sent and the
// UserSigs it accepted.
package tencenttest

import (
	"bytes"
	"context"
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

	mu        sync.Mutex
	rooms     map[string]map[string]any // RoomId → RoomInfo, as Tencent answers it
	raw       map[string][]byte         // RoomId → an answer given verbatim instead
	seats     map[string][]Seat         // RoomId → its seats
	callback  *tencent.CallbackConfig   // the app's callback configuration
	noConfig  []byte                    // get_callback's answer without one, instead of 100301
	seatRaw   map[string][]byte         // RoomId → a get_seat_list answer given verbatim instead
	token     string                    // callback token: signs what the fake sends
	accepted  []string                  // UserSigs that verified, each once
	sent      []Callback
	requests  []Request
	hold      chan struct{}
	arrived   chan string
	seq       int
	sending   sync.WaitGroup
	stopped   chan struct{}
	transport *http.Client
}

// Request is a call the fake received.
type Request struct {
	At time.Time
	// Command is the call, e.g. "get_room_info" or "room_config.set_callback".
	Command string
	// RoomID is the room the call is about ("" when none).
	RoomID string
}

// NewServer starts a fake for sdkAppID whose administrator and secret key
// are the ones given; it stops when the test ends.
func NewServer(t testing.TB, sdkAppID int64, administrator, secretKey string) *Server {
	s := &Server{
		t: t, sdkAppID: sdkAppID, administrator: administrator, secret: secretKey,
		rooms: map[string]map[string]any{}, raw: map[string][]byte{}, seats: map[string][]Seat{}, seatRaw: map[string][]byte{},
		stopped:   make(chan struct{}),
		transport: &http.Client{Timeout: callbackTimeout},
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.stopped)
		s.sending.Wait()
		srv.Close()
	})
	s.URL = srv.URL
	servers.mu.Lock()
	servers.all = append(servers.all, s)
	servers.mu.Unlock()
	return s
}

// handler answers one documented call; body is the request's JSON object.
type handler func(s *Server, w http.ResponseWriter, r *http.Request, body map[string]any)

// handlers maps each documented path to its handler, and names the call.
var handlers = map[string]struct {
	name string
	fn   handler
}{
	"/v4/" + tencent.ServiceRoom + "/" + tencent.CommandGetRoomInfo:      {tencent.CommandGetRoomInfo, (*Server).getRoomInfo},
	"/v4/" + tencent.ServiceRoom + "/" + tencent.CommandCreateRoom:       {tencent.CommandCreateRoom, (*Server).createRoom},
	"/v4/" + tencent.ServiceRoom + "/" + tencent.CommandUpdateRoom:       {tencent.CommandUpdateRoom, (*Server).updateRoomInfo},
	"/v4/" + tencent.ServiceRoom + "/" + tencent.CommandDestroyRoom:      {tencent.CommandDestroyRoom, (*Server).destroyRoom},
	"/v4/" + tencent.ServiceMic + "/" + tencent.CommandGetSeatList:       {tencent.CommandGetSeatList, (*Server).getSeatList},
	"/v4/" + tencent.ServiceConfig + "/" + tencent.CommandSetCallback:    {tencent.ServiceConfig + "." + tencent.CommandSetCallback, (*Server).setCallback},
	"/v4/" + tencent.ServiceConfig + "/" + tencent.CommandUpdateCallback: {tencent.ServiceConfig + "." + tencent.CommandUpdateCallback, (*Server).updateCallback},
	"/v4/" + tencent.ServiceConfig + "/" + tencent.CommandGetCallback:    {tencent.ServiceConfig + "." + tencent.CommandGetCallback, (*Server).getCallback},
	"/v4/" + tencent.ServiceConfig + "/" + tencent.CommandDeleteCallback: {tencent.ServiceConfig + "." + tencent.CommandDeleteCallback, (*Server).deleteCallback},
}

// ctxKey carries the name of the call being answered, which names its
// sample directory.
type ctxKey struct{}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h, ok := handlers[r.URL.Path]
	if r.Method != http.MethodPost || !ok ||
		q.Get("sdkappid") != strconv.FormatInt(s.sdkAppID, 10) || q.Get("identifier") != s.administrator ||
		q.Get("contenttype") != "json" || !isUint32(q.Get("random")) {
		s.t.Errorf("fake Tencent: a request Tencent does not document: %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, h.name))
	var body map[string]any
	err := json.NewDecoder(r.Body).Decode(&body)
	roomID, _ := body["RoomId"].(string)
	if info, ok := body["RoomInfo"].(map[string]any); ok {
		roomID, _ = info["RoomId"].(string)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{At: time.Now(), Command: h.name, RoomID: roomID})
	hold, arrived := s.hold, s.arrived
	s.mu.Unlock()
	if err != nil || body == nil {
		s.answerError(w, r, CodeBadBody)
		return
	}
	if c, err := tencent.VerifyUserSig(q.Get("usersig"), s.secret, time.Now()); err != nil || c.Identifier != s.administrator || c.SDKAppID != s.sdkAppID {
		s.answerError(w, r, CodeBadUserSig)
		return
	}
	s.accept(q.Get("usersig"))
	if hold != nil {
		arrived <- roomID
		<-hold
	}
	h.fn(s, w, r, body)
}

// getRoomInfo answers the stored RoomInfo (trtc.io/document/60704).
func (s *Server) getRoomInfo(w http.ResponseWriter, r *http.Request, body map[string]any) {
	roomID, ok := body["RoomId"].(string)
	if !ok {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.mu.Lock()
	info, ok := s.rooms[roomID]
	info = maps.Clone(info)
	raw, isRaw := s.raw[roomID]
	s.mu.Unlock()
	switch {
	case isRaw:
		s.answer(w, raw)
	case !ok:
		s.answerError(w, r, tencent.CodeRoomNotFound)
	default:
		s.answerOK(w, r, map[string]any{"RoomInfo": info})
	}
}

// answerOK answers as the call's documented sample does, with response as
// its Response (when not nil) and a RequestId of its own.
func (s *Server) answerOK(w http.ResponseWriter, r *http.Request, response map[string]any) {
	var a map[string]any
	if err := json.Unmarshal(Sample(callOf(r), "response.json"), &a); err != nil {
		panic(err)
	}
	a["RequestId"] = s.requestID()
	if response != nil {
		a["Response"] = response
	}
	data, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	s.answer(w, data)
}

// answerError answers with the documented failure of code: the call's own
// sample when it has one, another call's otherwise (the envelope is the
// same for every call).
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, code int) {
	name := "error-" + strconv.Itoa(code) + ".json"
	data, err := samples.ReadFile("testdata/" + callOf(r) + "/" + name)
	if err != nil {
		dirs, _ := samples.ReadDir("testdata")
		for _, d := range dirs {
			if data, err = samples.ReadFile("testdata/" + d.Name() + "/" + name); err == nil {
				break
			}
		}
	}
	if err != nil {
		panic(fmt.Sprintf("tencenttest: no sample of ErrorCode %d", code))
	}
	var a map[string]any
	if err := json.Unmarshal(data, &a); err != nil {
		panic(err)
	}
	if _, ok := a["RequestId"]; ok {
		a["RequestId"] = s.requestID()
	}
	data, err = json.Marshal(a)
	if err != nil {
		panic(err)
	}
	s.answer(w, data)
}

func callOf(r *http.Request) string {
	name, _ := r.Context().Value(ctxKey{}).(string)
	return name
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

// DeleteRoom makes the room gone (ErrorCode 100004), without a callback.
func (s *Server) DeleteRoom(roomID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rooms, roomID)
	delete(s.raw, roomID)
	delete(s.seats, roomID)
}

// Room returns the stored RoomInfo of roomID, as get_room_info answers it,
// and whether the room exists.
func (s *Server) Room(roomID string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.rooms[roomID]
	return maps.Clone(info), ok
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
