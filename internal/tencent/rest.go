package tencent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// REST API services: the part of the URL path before the command,
// v4/<service>/<command>.
const (
	// ServiceRoom holds the room calls (create, read, update, destroy).
	ServiceRoom = "room_engine_http_srv"
	// ServiceMic holds the seat calls ("mic", not "srv").
	ServiceMic = "room_engine_http_mic"
	// ServiceConfig holds the callback configuration calls.
	ServiceConfig = "room_config"
)

// REST API commands roomsync calls, each under its service.
const (
	// CommandGetRoomInfo (ServiceRoom) reads a room: trtc.io/document/60704.
	CommandGetRoomInfo = "get_room_info"
	// CommandCreateRoom (ServiceRoom) creates a room: trtc.io/document/60707.
	// Tencent then sends Room.CallbackAfterCreateRoom.
	CommandCreateRoom = "create_room"
	// CommandUpdateRoom (ServiceRoom) is update_room_info, which changes a
	// room's updatable fields: trtc.io/document/60705. Tencent then sends
	// Room.CallbackAfterUpdateRoomInfo (the name CommandUpdateRoomInfo is
	// that callback's older spelling).
	CommandUpdateRoom = "update_room_info"
	// CommandDestroyRoom (ServiceRoom) destroys a room:
	// trtc.io/document/60706. Tencent then sends Room.CallbackAfterDestroyRoom.
	CommandDestroyRoom = "destroy_room"
	// CommandGetSeatList (ServiceMic) reads a room's seats:
	// trtc.io/document/60719.
	CommandGetSeatList = "get_seat_list"
	// CommandSetCallback (ServiceConfig) creates the app's callback
	// configuration (one URL per SDKAppID, and the commands sent to it).
	CommandSetCallback = "set_callback"
	// CommandUpdateCallback (ServiceConfig) replaces the app's callback
	// configuration: trtc.io/document/60728.
	CommandUpdateCallback = "update_callback"
	// CommandGetCallback (ServiceConfig) reads the app's callback
	// configuration: trtc.io/document/60730.
	CommandGetCallback = "get_callback"
	// CommandDeleteCallback (ServiceConfig) removes the app's callback
	// configuration.
	CommandDeleteCallback = "delete_callback"
)

// Tencent REST API error codes with a meaning of their own to roomsync.
const (
	// CodeInternalError: Tencent failed inside; another attempt may work.
	CodeInternalError = 100001
	// CodeBadParameter: the request is not valid (a required field missing,
	// a value out of range); the same request will fail again. ErrorInfo
	// says which.
	CodeBadParameter = 100002
	// CodeRoomNotFound: the room does not exist (any more).
	CodeRoomNotFound = 100004
	// CodeNoPermission: the identifier may not do this to the room.
	CodeNoPermission = 100006
	// CodeCallbackNotFound: the app has no callback configuration (answered
	// by update_callback; create one with set_callback first).
	CodeCallbackNotFound = 100301
)

// credentialCodes are the REST API's answers that say the administrator,
// the SDKAppID or the UserSig (so the secret key) were not accepted.
var credentialCodes = map[int]bool{
	70001: true, // UserSig expired
	70002: true, // UserSig empty
	70003: true, // UserSig invalid
	70005: true, // UserSig invalid
	70009: true, // UserSig does not verify: wrong secret key
	70013: true, // identifier does not match the UserSig
	70014: true, // SDKAppID does not match the UserSig
	70016: true, // no key for the SDKAppID
	70020: true, // SDKAppID not found
	70052: true, // UserSig invalid
	70107: true, // identifier does not exist
}

var (
	// ErrRoomNotFound matches the error of a call about a room that does not
	// exist.
	ErrRoomNotFound = errors.New("room does not exist")
	// ErrCredentials matches the error of a call whose administrator,
	// SDKAppID or secret key Tencent rejected. Trying again will not help.
	ErrCredentials = errors.New("REST API credentials rejected")
	// ErrBadAnswer matches the error of a call whose answer said OK but was
	// not what Tencent documents (not JSON, or without the part the call
	// returns): see [BadAnswerError].
	ErrBadAnswer = errors.New("REST API answer not as documented")
	// ErrCallbackNotFound matches the error of a callback configuration call
	// when the app has none.
	ErrCallbackNotFound = errors.New("no callback configuration")
)

// BadAnswerError is an answer the client cannot read as Tencent documents
// it. Answer holds the start of the body, to show what came instead.
type BadAnswerError struct {
	Command string
	// Why says what is wrong with the answer.
	Why string
	// Answer is the start of the body (at most 200 bytes), on one line.
	Answer string
}

// answerQuoteBytes bounds how much of an answer an error quotes: of a bad
// answer, of the body of an HTTP error, of an ErrorInfo.
const answerQuoteBytes = 200

// quoteAnswer returns text, taken from an answer, as an error may quote it:
// without the request's credentials (redactText: an endpoint may echo the
// request's URL), then cut to answerQuoteBytes, on one line of valid UTF-8
// (it is shown in logs and in status messages). The credentials go first,
// so that the cut leaves no part of one.
func quoteAnswer(text string, secrets ...string) string {
	text = redactText(text, secrets...)
	if len(text) > answerQuoteBytes {
		text = text[:answerQuoteBytes]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(text, "\uFFFD")), " ")
}

// newBadAnswer is the error of an answer body that is not as documented,
// and why; secrets are what the request carried that the error must not.
func newBadAnswer(command, why string, body []byte, secrets ...string) *BadAnswerError {
	return &BadAnswerError{Command: command, Why: redactText(why, secrets...), Answer: quoteAnswer(string(body), secrets...)}
}

func (e *BadAnswerError) Error() string {
	return fmt.Sprintf("%s: the answer is not as Tencent documents it (%s); it begins: %s", e.Command, e.Why, e.Answer)
}

// Is makes errors.Is(err, ErrBadAnswer) hold.
func (e *BadAnswerError) Is(target error) bool { return target == ErrBadAnswer }

// answer is the part of a successful answer a call returns. check says
// what is missing from a decoded answer that Tencent documents, if anything.
type answer interface {
	check() error
}

// APIError is an answer of the REST API with ActionStatus FAIL.
type APIError struct {
	Command string
	Code    int
	// Info is the answer's ErrorInfo, cut to 200 bytes on one line, without
	// the request's credentials should the endpoint echo them.
	Info string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: ErrorCode %d: %s", e.Command, e.Code, e.Info)
}

// Is makes errors.Is(err, ErrRoomNotFound) and errors.Is(err, ErrCredentials)
// hold for the codes that mean them.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRoomNotFound:
		return e.Code == CodeRoomNotFound
	case ErrCredentials:
		return credentialCodes[e.Code]
	case ErrCallbackNotFound:
		return e.Code == CodeCallbackNotFound
	}
	return false
}

// RESTClient calls Tencent's Room REST API for one app, as its administrator.
//
// Its errors never hold the request's query string, the UserSig or the
// secret key, whatever failed: Go's errors of the network, TLS, timeouts and
// redirects quote the request's URL, and an endpoint may echo it (or the
// UserSig) in any answer; the client takes them out ([RedactURL]) where it
// makes the error, so that callers may show its text in statuses, Events and
// logs. It never follows a redirect: that would send the UserSig to another
// URL, and Tencent documents none.
type RESTClient struct {
	// Endpoint is the API's base URL, e.g. https://adminapisgp.im.qcloud.com.
	Endpoint   string
	SDKAppID   int64
	Identifier string
	// UserSig returns a valid UserSig for Identifier (see UserSigCache).
	UserSig func() (string, error)
	// HTTP sends the requests; its Timeout bounds each attempt.
	HTTP *http.Client
	// Attempts is how many times a call is tried when the network or the
	// server fails (HTTP 429 or 5xx, ErrorCode 100001); Backoff is the first pause between
	// attempts, doubled each time, with jitter.
	Attempts int
	Backoff  time.Duration
	// Wait, when set, is waited on before every attempt: the app's request
	// budget (a rate.Limiter's Wait). Its error ends the call.
	Wait func(ctx context.Context) error
	// Observe, when set, is told the outcome of every attempt: the command
	// and a code from a bounded set, fit for a metric label (the endpoint is
	// the ChatApp author's to choose, and may answer anything): see
	// [ObservedCode] and [ObservedHTTPStatus], "network" (no answer) or
	// "bad_answer" (an OK answer without what Tencent documents in it).
	Observe func(command, code string)
}

// errRetry marks an attempt's failure that another attempt may not have.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

// getRoomInfoAnswer is get_room_info's answer: the room is in
// Response.RoomInfo (trtc.io/document/60704, "Sample Response Packets").
type getRoomInfoAnswer struct {
	Response *struct {
		RoomInfo *RoomDetails `json:"RoomInfo"`
	} `json:"Response"`
	roomID string // asked for
}

func (a *getRoomInfoAnswer) check() error {
	if a.Response == nil || a.Response.RoomInfo == nil {
		return errors.New("no Response.RoomInfo")
	}
	if id := a.Response.RoomInfo.RoomID; id != nil && string(*id) != a.roomID {
		return fmt.Errorf("Response.RoomInfo.RoomId is %q, not the room asked for, %q", *id, a.roomID)
	}
	return nil
}

// GetRoomInfo returns what Tencent knows of roomID. An error matches
// ErrRoomNotFound when the room does not exist, ErrCredentials when the
// credentials were rejected, and ErrBadAnswer when the answer has no
// Response.RoomInfo (or one about another room).
func (c *RESTClient) GetRoomInfo(ctx context.Context, roomID string) (*RoomInfo, error) {
	d, err := c.GetRoomDetails(ctx, roomID)
	if err != nil {
		return nil, err
	}
	return &d.RoomInfo, nil
}

// RoomDetails is what get_room_info tells of a room: its [RoomInfo] and
// what only a read shows. It is a type of its own so that RoomInfo, which
// callbacks carry and roomsync stores, keeps its shape.
type RoomDetails struct {
	RoomInfo
	// MemberCount is the number of members in the room when it was read.
	MemberCount *Int64 `json:"MemberCount"`
}

// GetRoomDetails is [RESTClient.GetRoomInfo] with the member count, and
// fails alike.
func (c *RESTClient) GetRoomDetails(ctx context.Context, roomID string) (*RoomDetails, error) {
	a := &getRoomInfoAnswer{roomID: roomID}
	if err := c.call(ctx, ServiceRoom, CommandGetRoomInfo, map[string]string{"RoomId": roomID}, a); err != nil {
		return nil, err
	}
	return a.Response.RoomInfo, nil
}

// call POSTs body to v4/service/command and decodes a successful answer
// into out, trying again while the failure may pass.
func (c *RESTClient) call(ctx context.Context, service, command string, body any, out answer) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	attempts := max(c.Attempts, 1)
	pause := c.Backoff
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, service, command, data, out)
		var retry errRetry
		if err == nil || !errors.As(err, &retry) || attempt == attempts {
			if errors.As(err, &retry) {
				err = retry.err
			}
			return err
		}
		jittered := pause + time.Duration(rand.Int64N(int64(pause)/2+1))
		select {
		case <-time.After(jittered):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", command, ctx.Err(), retry.err)
		}
		pause *= 2
	}
}

func (c *RESTClient) attempt(ctx context.Context, service, command string, body []byte, out answer) (err error) {
	if c.Wait != nil {
		if err := c.Wait(ctx); err != nil {
			return fmt.Errorf("%s: waiting for the request budget: %w", command, err)
		}
	}
	userSig, err := c.UserSig()
	if err != nil {
		return fmt.Errorf("%s: making a UserSig: %w", command, err)
	}
	// Whatever went wrong, the error leaves without the URL's query and the
	// UserSig (errRetry, when there, is the outermost wrapper).
	defer func() {
		var retry errRetry
		if errors.As(err, &retry) {
			err = errRetry{redactError(retry.err, userSig)}
			return
		}
		err = redactError(err, userSig)
	}()
	q := url.Values{}
	q.Set("sdkappid", strconv.FormatInt(c.SDKAppID, 10))
	q.Set("identifier", c.Identifier)
	q.Set("usersig", userSig)
	q.Set("random", strconv.FormatUint(uint64(rand.Uint32()), 10))
	q.Set("contenttype", "json")
	u := strings.TrimSuffix(c.Endpoint, "/") + "/v4/" + service + "/" + command + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		c.observe(command, codeNetwork)
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", command, err)
		}
		return errRetry{fmt.Errorf("%s: %w", command, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		c.observe(command, codeNetwork)
		return errRetry{fmt.Errorf("%s: reading the answer: %w", command, err)}
	}
	if resp.StatusCode != http.StatusOK {
		c.observe(command, ObservedHTTPStatus(resp.StatusCode))
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return fmt.Errorf("%s: HTTP %d: a redirect to %q, which the client does not follow: %s",
				command, resp.StatusCode, RedactURL(resp.Header.Get("Location")), quoteAnswer(string(data), userSig))
		}
		err := fmt.Errorf("%s: HTTP %d: %s", command, resp.StatusCode, quoteAnswer(string(data), userSig))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return errRetry{err}
		}
		return err
	}
	var status struct {
		ActionStatus string
		ErrorCode    Int64
		ErrorInfo    string
	}
	if err := json.Unmarshal(data, &status); err != nil {
		c.observe(command, codeBadAnswer)
		return newBadAnswer(command, "not a JSON object with ActionStatus, ErrorCode and ErrorInfo: "+err.Error(), data, userSig)
	}
	if status.ErrorCode != 0 || (status.ActionStatus != "" && status.ActionStatus != "OK") {
		c.observe(command, ObservedCode(int64(status.ErrorCode)))
		err := &APIError{Command: command, Code: int(status.ErrorCode), Info: quoteAnswer(status.ErrorInfo, userSig)}
		if err.Code == CodeInternalError {
			return errRetry{err}
		}
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		c.observe(command, codeBadAnswer)
		return newBadAnswer(command, err.Error(), data, userSig)
	}
	if err := out.check(); err != nil {
		c.observe(command, codeBadAnswer)
		return newBadAnswer(command, err.Error(), data, userSig)
	}
	c.observe(command, "0")
	return nil
}

// httpClient is c.HTTP (Go's default client when nil) that never follows a
// redirect: the first answer is the answer.
func (c *RESTClient) httpClient() *http.Client {
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// codeNetwork is what Observe is told of an attempt that got no answer.
const codeNetwork = "network"

// codeOther is what Observe is told of an ErrorCode the client does not
// know.
const codeOther = "other"

// knownCodes are the ErrorCodes Observe is told as they are: the ones
// Tencent documents for the calls the client makes (the Room REST API's
// table, the callback configuration pages', the failure sample of the Chat
// REST API pages) and the credential codes.
var knownCodes = func() map[int64]bool {
	known := map[int64]bool{
		0:                    true,
		CodeInternalError:    true,
		CodeBadParameter:     true,
		CodeRoomNotFound:     true,
		100005:               true, // not a member of the room
		CodeNoPermission:     true,
		100300:               true, // callback configuration
		CodeCallbackNotFound: true,
		90001:                true, // the body is not JSON (the Chat REST API's failure sample)
	}
	for code := range credentialCodes {
		known[int64(code)] = true
	}
	return known
}()

// ObservedCode is the code Observe is told of an answer with ErrorCode code:
// the code itself when the client knows it (0, the Room REST API's
// documented codes, the credential codes), else "other". An endpoint that
// answers ErrorCodes of its own choosing adds one value, not one per code.
func ObservedCode(code int64) string {
	if knownCodes[code] {
		return strconv.FormatInt(code, 10)
	}
	return codeOther
}

// knownStatuses are the HTTP statuses Observe is told one by one: the ones
// that tell an operator what to do (a redirect: a wrong endpoint; 429 and
// 5xx: retried).
var knownStatuses = map[int]bool{
	301: true, 302: true, 303: true, 307: true, 308: true,
	400: true, 401: true, 403: true, 404: true, 405: true, 408: true, 413: true, 429: true,
	500: true, 502: true, 503: true, 504: true,
}

// ObservedHTTPStatus is the code Observe is told of an answer with an HTTP
// status other than 200: "http_<status>" for the common statuses (301, 302,
// 303, 307, 308, 400, 401, 403, 404, 405, 408, 413, 429, 500, 502, 503,
// 504), else its class ("http_1xx" to "http_5xx"), or "http_other" for a
// status outside 100–599.
func ObservedHTTPStatus(status int) string {
	switch {
	case knownStatuses[status]:
		return "http_" + strconv.Itoa(status)
	case status >= 100 && status < 600:
		return "http_" + strconv.Itoa(status/100) + "xx"
	}
	return "http_other"
}

// codeBadAnswer is what Observe is told of an answer that said OK but could
// not be read as documented.
const codeBadAnswer = "bad_answer"

func (c *RESTClient) observe(command, code string) {
	if c.Observe != nil {
		c.Observe(command, code)
	}
}
