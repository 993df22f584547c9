package tencent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func restClient(t *testing.T, handler http.HandlerFunc) (*RESTClient, *[]string) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	var observed []string
	cache := &UserSigCache{SDKAppID: 1400000001, Key: "key", Identifier: "administrator", Lifetime: time.Hour, Now: time.Now}
	return &RESTClient{
		Endpoint:   srv.URL,
		SDKAppID:   1400000001,
		Identifier: "administrator",
		UserSig:    cache.Get,
		HTTP:       &http.Client{Timeout: time.Second},
		Attempts:   3,
		Backoff:    time.Millisecond,
		Observe:    func(command, code string) { observed = append(observed, command+" "+code) },
	}, &observed
}

func TestGetRoomInfo(t *testing.T) {
	c, observed := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodPost || r.URL.Path != "/v4/room_engine_http_srv/get_room_info" ||
			q.Get("sdkappid") != "1400000001" || q.Get("identifier") != "administrator" || q.Get("contenttype") != "json" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if _, err := strconv.ParseUint(q.Get("random"), 10, 32); err != nil {
			t.Errorf("random %q is not a uint32", q.Get("random"))
		}
		if c, err := VerifyUserSig(q.Get("usersig"), "key", time.Now()); err != nil || c.Identifier != "administrator" || c.SDKAppID != 1400000001 {
			t.Errorf("usersig: %+v, %v", c, err)
		}
		var body struct{ RoomId string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"r1",
			"Response":{"RoomInfo":{"RoomId":"` + body.RoomId + `","RoomName":"Weekly","MaxMemberCount":"300","IsCloudRecordingDisabled":"false"}}}`))
	})
	info, err := c.GetRoomInfo(context.Background(), "rid-1")
	if err != nil {
		t.Fatal(err)
	}
	if *info.RoomID != "rid-1" || *info.RoomName != "Weekly" || *info.MaxMemberCount != 300 || bool(*info.IsCloudRecordingDisabled) {
		t.Errorf("RoomInfo %+v", info)
	}
	if len(*observed) != 1 || (*observed)[0] != "get_room_info 0" {
		t.Errorf("observed %v", *observed)
	}
}

func TestRESTErrorsAreTyped(t *testing.T) {
	for _, tc := range []struct {
		answer        string
		notFound, bad bool
	}{
		{answer: `{"ActionStatus":"FAIL","ErrorCode":100004,"ErrorInfo":"room not exist"}`, notFound: true},
		{answer: `{"ActionStatus":"FAIL","ErrorCode":70009,"ErrorInfo":"usersig verify failed"}`, bad: true},
		{answer: `{"ActionStatus":"FAIL","ErrorCode":"70001","ErrorInfo":"usersig expired"}`, bad: true},
		{answer: `{"ActionStatus":"FAIL","ErrorCode":60003,"ErrorInfo":"invalid request"}`},
	} {
		var calls atomic.Int32
		c, _ := restClient(t, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			_, _ = w.Write([]byte(tc.answer))
		})
		_, err := c.GetRoomInfo(context.Background(), "rid")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || errors.Is(err, ErrRoomNotFound) != tc.notFound || errors.Is(err, ErrCredentials) != tc.bad {
			t.Errorf("%s: error %v", tc.answer, err)
		}
		if calls.Load() != 1 {
			t.Errorf("%s: %d calls; an answer of Tencent's is not retried", tc.answer, calls.Load())
		}
	}
}

func TestRESTRetriesServerErrors(t *testing.T) {
	var calls atomic.Int32
	c, observed := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"Response":{"RoomInfo":{"RoomId":"rid"}}}`))
	})
	if _, err := c.GetRoomInfo(context.Background(), "rid"); err != nil {
		t.Fatalf("after two 502s: %v", err)
	}
	if len(*observed) != 3 || (*observed)[0] != "get_room_info http_502" {
		t.Errorf("observed %v", *observed)
	}

	calls.Store(-100) // always failing now
	if _, err := c.GetRoomInfo(context.Background(), "rid"); err == nil || calls.Load() != -97 {
		t.Errorf("error %v after %d calls; want a failure after 3", err, calls.Load()+100)
	}
}

func TestRESTGivesUpWithTheContext(t *testing.T) {
	c, _ := restClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	c.Attempts, c.Backoff = 100, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.GetRoomInfo(ctx, "rid"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline", err)
	}
	if time.Since(start) > time.Second {
		t.Error("the backoff outlived the context")
	}
}
