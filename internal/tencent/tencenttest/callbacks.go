package tencenttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
)

// callbackTimeout bounds each callback the fake sends: Tencent's sender
// waits 2 seconds.
const callbackTimeout = 2 * time.Second

// Callback is a callback the fake sent after a call that changed a room.
type Callback struct {
	// URL is where it went, with the query string Tencent's sender adds.
	URL string
	// Command is its CallbackCommand.
	Command string
	// Body is the JSON body sent.
	Body []byte
	// Status is the receiver's HTTP status; 0 when sending failed (Err).
	Status int
	Err    error
}

// SetCallbackToken makes the fake sign the callbacks it sends with token
// (Sign and RequestTime in the query), as Tencent does when the app has a
// callback token. "" sends them unsigned.
func (s *Server) SetCallbackToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Callbacks returns the callbacks sent so far, each once its receiver
// answered or the send failed.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// CallbackConfig returns the app's callback configuration, and whether it
// has one.
func (s *Server) CallbackConfig() (tencent.CallbackConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callback == nil {
		return tencent.CallbackConfig{}, false
	}
	return tencent.CallbackConfig{URL: s.callback.URL, Commands: slices.Clone(s.callback.Commands)}, true
}

// SetCallbackConfig gives the app cfg as its callback configuration, as a
// change in Tencent's console would: no request, no callback.
func (s *Server) SetCallbackConfig(cfg tencent.CallbackConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callback = &tencent.CallbackConfig{URL: cfg.URL, Commands: append([]string{}, cfg.Commands...)}
}

// DeleteCallbackConfig removes the app's callback configuration, as the
// console would: no request, no callback.
func (s *Server) DeleteCallbackConfig() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callback = nil
}

// configOf reads the body of set_callback and update_callback: Url, which
// must start with http:// or https://, and CallbackCommandList, both
// mandatory.
func configOf(body map[string]any) (tencent.CallbackConfig, bool) {
	url, ok := body["Url"].(string)
	list, listed := body["CallbackCommandList"].([]any)
	if !ok || !listed || (!strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://")) {
		return tencent.CallbackConfig{}, false
	}
	cfg := tencent.CallbackConfig{URL: url, Commands: []string{}}
	for _, c := range list {
		c, ok := c.(string)
		if !ok {
			return tencent.CallbackConfig{}, false
		}
		cfg.Commands = append(cfg.Commands, c)
	}
	return cfg, true
}

// setCallback stores the app's callback configuration. The stored pages do
// not say what set_callback answers when one exists: the fake replaces it.
func (s *Server) setCallback(w http.ResponseWriter, r *http.Request, body map[string]any) {
	cfg, ok := configOf(body)
	if !ok {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.mu.Lock()
	s.callback = &cfg
	s.mu.Unlock()
	s.answerOK(w, r, nil)
}

// updateCallback replaces the configuration; without one it answers
// 100301, as documented.
func (s *Server) updateCallback(w http.ResponseWriter, r *http.Request, body map[string]any) {
	cfg, ok := configOf(body)
	if !ok {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.mu.Lock()
	exists := s.callback != nil
	if exists {
		s.callback = &cfg
	}
	s.mu.Unlock()
	if !exists {
		s.answerError(w, r, tencent.CodeCallbackNotFound)
		return
	}
	s.answerOK(w, r, nil)
}

// SetNoCallbackAnswer makes get_callback answer body, verbatim, while the
// app has no callback configuration, instead of FAIL 100301: Tencent does
// not document that answer (the samples response-no-response.json and
// response-empty-url.json of room_config.get_callback are ones it might
// give). nil goes back to 100301.
func (s *Server) SetNoCallbackAnswer(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noConfig = bytes.Clone(body)
}

// getCallback answers the configuration. Without one it answers 100301
// (the fake's choice, as only update_callback documents that code), or what
// SetNoCallbackAnswer gave.
func (s *Server) getCallback(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	cfg, ok := s.CallbackConfig()
	if !ok {
		s.mu.Lock()
		none := s.noConfig
		s.mu.Unlock()
		if none != nil {
			s.answer(w, none)
			return
		}
		s.answerError(w, r, tencent.CodeCallbackNotFound)
		return
	}
	commands := make([]any, len(cfg.Commands))
	for i, c := range cfg.Commands {
		commands[i] = c
	}
	s.answerOK(w, r, map[string]any{"Url": cfg.URL, "CallbackCommandList": commands})
}

// deleteCallback removes the configuration. Without one it answers OK: the
// fake's choice, as the page was not found.
func (s *Server) deleteCallback(w http.ResponseWriter, r *http.Request, _ map[string]any) {
	s.mu.Lock()
	s.callback = nil
	s.mu.Unlock()
	s.answerOK(w, r, nil)
}

// registered reports whether cfg asks for command. The two spellings of the
// update callback count as one.
func registered(cfg tencent.CallbackConfig, command string) bool {
	for _, c := range cfg.Commands {
		if c == command || (isUpdate(c) && isUpdate(command)) {
			return true
		}
	}
	return false
}

func isUpdate(command string) bool {
	return command == tencent.CommandAfterUpdateRoomInfo || command == tencent.CommandUpdateRoomInfo
}

// sendCallback sends command with fields as its body, as Tencent's sender
// does after a REST call (OptPlatform RESTAPI, the administrator as
// Operator_Account, EventTime in Unix milliseconds), when the app's
// configuration asks for it. It returns at once: the answer to the REST call
// never waits for the receiver.
func (s *Server) sendCallback(r *http.Request, command string, fields map[string]any) {
	s.mu.Lock()
	cfg, token := s.callback, s.token
	if cfg == nil || !registered(*cfg, command) {
		s.mu.Unlock()
		return
	}
	url := cfg.URL
	s.sending.Add(1)
	s.mu.Unlock()

	body := map[string]any{"CallbackCommand": command, "Operator_Account": s.administrator, "EventTime": time.Now().UnixMilli()}
	for k, v := range fields {
		body[k] = v
	}
	data, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	clientIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	go func() {
		defer s.sending.Done()
		q := tencent.CallbackQuery{SDKAppID: s.sdkAppID, Command: command, ClientIP: clientIP, OptPlatform: "RESTAPI", Token: token}
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		sent := Callback{URL: url + sep + q.Encode(time.Now()), Command: command, Body: data}
		ctx, cancel := context.WithTimeout(context.Background(), callbackTimeout)
		defer cancel()
		go func() {
			select {
			case <-s.stopped:
				cancel()
			case <-ctx.Done():
			}
		}()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sent.URL, bytes.NewReader(data))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			var resp *http.Response
			if resp, err = s.transport.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
				sent.Status = resp.StatusCode
			}
		}
		sent.Err = err
		s.mu.Lock()
		s.sent = append(s.sent, sent)
		s.mu.Unlock()
	}()
}
