package webhookserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

// MaxBodyBytes is the largest callback body accepted.
const MaxBodyBytes = 1 << 20

// defaultMaxClockSkew applies when a ChatApp's callbackAuth does not say.
const defaultMaxClockSkew = time.Minute

// ErrUnknownApp is returned by an AppResolver when no ChatApp holds the
// sdkAppID.
var ErrUnknownApp = errors.New("no ChatApp for this SdkAppid")

// ResolvedApp is the ChatApp that receives an sdkAppID's callbacks.
type ResolvedApp struct {
	// App is the ChatApp.
	App *chatv1alpha1.ChatApp
	// Tokens are the callback tokens a Sign may be made with; nil when the
	// ChatApp does not authenticate callbacks.
	Tokens []string
	// TokenErr says why the tokens could not be read. While it is set, the
	// ChatApp's callbacks are refused.
	TokenErr error
}

// AppResolver finds the ChatApp for a callback's SdkAppid.
type AppResolver interface {
	// Resolve returns the ChatApp that holds sdkAppID, or ErrUnknownApp.
	Resolve(ctx context.Context, sdkAppID int64) (*ResolvedApp, error)
	// Accepted records that a callback for app was answered OK at now.
	Accepted(app *chatv1alpha1.ChatApp, now time.Time)
}

// RoomWriter stores room events: roomstore.Store, or roomstore.Spooler when
// a spool is configured.
type RoomWriter interface {
	Apply(ctx context.Context, app *chatv1alpha1.ChatApp, ev roomstore.Event) (roomstore.Outcome, error)
}

// Handler answers Tencent Cloud Chat's callbacks. Each request goes through
// the checks below in order; the first that fails decides the answer. An OK
// answer for an event that applies is only given once the event is stored.
type Handler struct {
	Apps  AppResolver
	Rooms RoomWriter
	// Timeout bounds the handling of one callback, API writes included.
	Timeout time.Duration
	// Now is the clock that RequestTime is checked against.
	Now func() time.Time
	Log logr.Logger
}

// request is what the checks have learnt about a callback so far.
type request struct {
	query    url.Values
	body     []byte
	sdkAppID int64
	command  string
	app      *ResolvedApp
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), h.Timeout)
	defer cancel()

	req := &request{}
	a := h.handle(ctx, w, r, req)
	a.write(w)
	if a.status == http.StatusOK && req.app != nil {
		h.Apps.Accepted(req.app.App, h.Now())
	}

	command := commandLabel(req.command)
	callbacksTotal.WithLabelValues(command, a.result).Inc()
	callbackDuration.WithLabelValues(command).Observe(time.Since(start).Seconds())

	log := h.Log.WithValues("sdkAppID", req.sdkAppID, "command", req.command, "status", a.status, "result", a.result)
	switch {
	case a.status >= 500:
		log.Error(nil, "Callback not stored", "errorInfo", a.info)
	case a.status != http.StatusOK:
		log.Info("Callback rejected", "errorInfo", a.info)
	default:
		log.V(1).Info("Callback answered", "errorInfo", a.info)
	}
}

func (h *Handler) handle(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) answer {
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, CodeMethodNotAllowed, resultRejected, "method %s not allowed: callbacks are POSTed", r.Method)
	}
	if a, ok := readBody(w, r, req); !ok {
		return a
	}
	if a, ok := parseQuery(r, req); !ok {
		return a
	}
	if a, ok := h.resolveApp(ctx, req); !ok {
		return a
	}
	if a, ok := h.authenticate(req); !ok {
		return a
	}
	if a, ok := parseCommand(req); !ok {
		return a
	}
	decode, known := decoders[req.command]
	if !known {
		return ok(resultUnknownCommand, "ignored: CallbackCommand "+strconv.Quote(req.command)+" is not handled by this version of roomsync")
	}
	ev, a, ok := roomEvent(req, decode, h.Now())
	if !ok {
		return a
	}
	// What the API server would refuse is refused here, before a write is
	// tried or the event is spooled.
	if err := roomstore.Validate(*ev); err != nil {
		return fail(http.StatusBadRequest, CodeBadEvent, resultRejected, "%v", err)
	}
	return h.store(ctx, req, ev)
}

func readBody(w http.ResponseWriter, r *http.Request, req *request) (answer, bool) {
	if r.ContentLength > MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, resultRejected, "body of %d bytes is over the limit of %d", r.ContentLength, MaxBodyBytes), false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return fail(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, resultRejected, "body is over the limit of %d bytes", MaxBodyBytes), false
		}
		return fail(http.StatusBadRequest, CodeBadBody, resultRejected, "reading body: %v", err), false
	}
	req.body = body
	return answer{}, true
}

func parseQuery(r *http.Request, req *request) (answer, bool) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query string does not parse: %v", err), false
	}
	req.query = query
	req.command = query.Get("CallbackCommand") // for the metrics, until the body confirms it
	for name, values := range query {
		if len(values) > 1 {
			return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter %q is repeated", name), false
		}
	}
	raw, found := query["SdkAppid"]
	if !found {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter SdkAppid is missing"), false
	}
	id, err := strconv.ParseInt(raw[0], 10, 64)
	if err != nil || id <= 0 {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter SdkAppid %q is not a positive integer", raw[0]), false
	}
	req.sdkAppID = id
	return answer{}, true
}

func (h *Handler) resolveApp(ctx context.Context, req *request) (answer, bool) {
	app, err := h.Apps.Resolve(ctx, req.sdkAppID)
	switch {
	case errors.Is(err, ErrUnknownApp):
		return fail(http.StatusNotFound, CodeUnknownApp, resultUnknownApp, "no ChatApp for SdkAppid %d", req.sdkAppID), false
	case err != nil:
		return unavailable(err), false
	}
	req.app = app
	return answer{}, true
}

func (h *Handler) authenticate(req *request) (answer, bool) {
	auth := req.app.App.Spec.CallbackAuth
	if auth == nil {
		return answer{}, true
	}
	unauthorized := func(format string, args ...any) (answer, bool) {
		return fail(http.StatusUnauthorized, CodeUnauthorized, resultUnauthorized, format, args...), false
	}
	if req.app.TokenErr != nil {
		return unauthorized("cannot check Sign: %v", req.app.TokenErr)
	}
	sign, requestTime := req.query.Get("Sign"), req.query.Get("RequestTime")
	if sign == "" || requestTime == "" {
		return unauthorized("Sign and RequestTime are required: ChatApp %s/%s has callbackAuth", req.app.App.Namespace, req.app.App.Name)
	}
	sent, err := tencent.ParseRequestTime(requestTime)
	if err != nil {
		return unauthorized("RequestTime: %v", err)
	}
	skew := defaultMaxClockSkew
	if auth.MaxClockSkew != nil {
		skew = auth.MaxClockSkew.Duration
	}
	if d := h.Now().Sub(sent); d > skew || d < -skew {
		return unauthorized("RequestTime %s is %s from the receiver's clock, more than maxClockSkew %s", requestTime, d.Round(time.Second), skew)
	}
	if !tencent.VerifySign(sign, requestTime, req.app.Tokens...) {
		return unauthorized("Sign does not match the callback token")
	}
	return answer{}, true
}

func parseCommand(req *request) (answer, bool) {
	env, err := tencent.DecodeEnvelope(req.body)
	if err != nil {
		return fail(http.StatusBadRequest, CodeBadBody, resultRejected, "body: %v", err), false
	}
	if env.CallbackCommand == "" {
		return fail(http.StatusBadRequest, CodeBadBody, resultRejected, "body has no CallbackCommand"), false
	}
	if q := req.query.Get("CallbackCommand"); q != env.CallbackCommand {
		return fail(http.StatusBadRequest, CodeBadBody, resultRejected, "CallbackCommand %q in the body differs from %q in the query", env.CallbackCommand, q), false
	}
	req.command = env.CallbackCommand
	return answer{}, true
}

// roomEvent decodes the body of a handled command into a room event and
// checks what every room event needs: a RoomId that is UTF-8 of at most 48
// bytes, and a positive EventTime.
func roomEvent(req *request, decode decoder, received time.Time) (*roomstore.Event, answer, bool) {
	d, err := decode(req.body, received)
	if err != nil {
		return nil, fail(http.StatusBadRequest, CodeBadBody, resultRejected, "body: %v", err), false
	}
	if d.roomID == nil {
		return nil, fail(http.StatusBadRequest, CodeBadEvent, resultRejected, "%s is missing", d.roomIDField), false
	}
	if err := tencent.ValidateRoomID(string(*d.roomID)); err != nil {
		return nil, fail(http.StatusBadRequest, CodeBadEvent, resultRejected, "%s: %v", d.roomIDField, err), false
	}
	if d.eventTime == nil {
		return nil, fail(http.StatusBadRequest, CodeBadEvent, resultRejected, "EventTime is missing"), false
	}
	if *d.eventTime <= 0 {
		return nil, fail(http.StatusBadRequest, CodeBadEvent, resultRejected, "EventTime %d is not a positive Unix time in milliseconds", *d.eventTime), false
	}
	ev := d.event
	ev.RoomID = string(*d.roomID)
	ev.EventTime = int64(*d.eventTime)
	ev.Command = req.command
	ev.ClientIP = req.query.Get("ClientIP")
	ev.OptPlatform = req.query.Get("OptPlatform")
	return ev, answer{}, true
}

// store hands a room event to the RoomWriter and answers with the outcome.
func (h *Handler) store(ctx context.Context, req *request, ev *roomstore.Event) answer {
	outcome, err := h.Rooms.Apply(ctx, req.app.App, *ev)
	if err != nil {
		return writeFailed(err)
	}
	switch outcome {
	case roomstore.Stale:
		return ok(resultStale, "stale: room "+strconv.Quote(ev.RoomID)+" already holds a newer event of this kind, or a newer destroy; nothing changed")
	case roomstore.Spooled:
		return ok(resultSpooled, "spooled: the API server did not take the write in time; the event is kept on disk "+
			"and written into its Room as soon as the API server takes writes again")
	case roomstore.UnknownRoom:
		if ev.RoomInfo == nil {
			return ok(resultUnknownRoom, "ignored: no Room for room "+strconv.Quote(ev.RoomID)+"; only room-info callbacks create one")
		}
		return ok(resultUnknownRoom, "ignored: no Room for room "+strconv.Quote(ev.RoomID)+" and the ChatApp's autoCreateRooms is false")
	default:
		return ok(resultApplied, "")
	}
}

// writeFailed maps an error from the RoomWriter to an answer. What the API
// server refused as invalid is the sender's doing; what retrying cannot fix
// is ours; anything else (timeouts, an unreachable or overloaded API server,
// and with a spool, a full spool) means: not stored, try again.
func writeFailed(err error) answer {
	switch {
	case errors.Is(err, roomstore.ErrSpoolFull):
		return fail(http.StatusServiceUnavailable, CodeUnavailable, resultUnavailable,
			"not stored, the API server did not take the write in time and the spool is full: %v", err)
	case apierrors.IsInvalid(err):
		return fail(http.StatusBadRequest, CodeBadEvent, resultRejected, "the room info was refused: %v", err)
	case errors.Is(err, roomstore.ErrNameTaken), apierrors.IsForbidden(err), apierrors.IsBadRequest(err):
		return fail(http.StatusInternalServerError, CodeInternal, resultError, "not stored: %v", err)
	}
	return unavailable(err)
}

func unavailable(err error) answer {
	return fail(http.StatusServiceUnavailable, CodeUnavailable, resultUnavailable, "not stored, the API server did not take the write in time: %v", err)
}
