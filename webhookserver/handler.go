package webhookserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

// MaxBodyBytes is the largest callback body accepted.
const MaxBodyBytes = 1 << 20

// defaultMaxClockSkew applies when a ChatApp's callbackAuth does not say.
const defaultMaxClockSkew = time.Minute

// AppResolver finds the ChatApps that claim a callback's SdkAppid.
type AppResolver interface {
	// Claims returns the ChatApps that claim sdkAppID, oldest first, with
	// their callback tokens (lookup.Claims); none when no ChatApp does.
	Claims(ctx context.Context, sdkAppID int64) ([]*lookup.Claim, error)
	// Accepted records that a callback for app was answered OK at now.
	Accepted(app *chatv1alpha1.ChatApp, now time.Time)
}

// RoomWriter stores room events: roomstore.Store, or roomstore.Spooler when
// a spool is configured.
type RoomWriter interface {
	Apply(ctx context.Context, app *chatv1alpha1.ChatApp, ev roomstore.Event) (roomstore.Outcome, error)
}

// Handler answers Tencent Cloud Chat's callbacks. Each request goes through
// the checks below in order; the first that fails decides the answer. What
// the query carries (SdkAppid, Sign, RequestTime) is checked before the body
// is read, so that a caller who cannot authenticate costs a map lookup and a
// hash, not a buffered upload; and every such caller gets the same answer,
// which tells nothing of the ChatApps, namespaces or Secrets there are (the
// log keeps the detail). An OK answer for an event that applies is only
// given once the event is stored.
type Handler struct {
	Apps  AppResolver
	Rooms RoomWriter
	// AllowUnsigned lets a ChatApp without spec.callbackAuth receive
	// callbacks (--allow-unsigned-callbacks). Off, such a ChatApp's
	// callbacks are answered 401.
	AllowUnsigned bool
	// Timeout bounds the handling of one callback, API writes included.
	Timeout time.Duration
	// Now is the clock that RequestTime is checked against.
	Now func() time.Time
	// Lost, when set, is told of each authenticated callback answered with
	// an error, whose event is lost unless Tencent retries
	// (controllers.LostEvents asks for a catch-up of its room).
	Lost func(app types.NamespacedName, roomID string, at time.Time)
	Log  logr.Logger

	rejections rejectionLog
}

// request is what the checks have learnt about a callback so far.
type request struct {
	query    url.Values
	body     []byte
	sdkAppID int64
	command  string
	// app is the ChatApp the callback goes to, once authenticated.
	app *chatv1alpha1.ChatApp
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), h.Timeout)
	defer cancel()

	req := &request{}
	a := h.handle(ctx, w, r, req)
	if req.body == nil && r.ContentLength != 0 {
		// The body was not read (the request was refused first): do not
		// keep the connection, or the server would read what is left of it.
		w.Header().Set("Connection", "close")
	}
	a.write(w)
	if a.status == http.StatusOK && req.app != nil {
		h.Apps.Accepted(req.app, h.Now())
	}

	command := commandLabel(req.command)
	callbacksTotal.WithLabelValues(command, a.result).Inc()
	callbackDuration.WithLabelValues(command).Observe(time.Since(start).Seconds())
	h.log(r, req, a)
}

// log logs the outcome of a callback. Rejections are logged at most once a
// second for each kind (with a count of those held back): a caller that
// sends garbage must not fill the log. What the caller chose is quoted and
// cut short.
func (h *Handler) log(r *http.Request, req *request, a answer) {
	detail := a.detail
	if detail == "" {
		detail = a.info
	}
	keysAndValues := []any{"sdkAppID", req.sdkAppID, "command", quote(req.command), "status", a.status, "result", a.result}
	if req.app != nil {
		keysAndValues = append(keysAndValues, "chatApp", req.app.Namespace+"/"+req.app.Name)
	}
	switch {
	case a.status >= 500:
		h.Log.Error(nil, "Callback not stored", append(keysAndValues, "errorInfo", detail)...)
	case a.status != http.StatusOK:
		held, ok := h.rejections.allow(a.result+"/"+strconv.Itoa(int(a.code)), time.Now())
		if !ok {
			return
		}
		keysAndValues = append(keysAndValues, "errorInfo", detail, "remoteAddr", quote(r.RemoteAddr),
			"optPlatform", quote(req.query.Get("OptPlatform")), "clientIP", quote(req.query.Get("ClientIP")))
		if held > 0 {
			keysAndValues = append(keysAndValues, "alikeNotLogged", held)
		}
		h.Log.Info("Callback rejected", keysAndValues...)
	default:
		h.Log.V(1).Info("Callback answered", append(keysAndValues, "errorInfo", detail)...)
	}
}

func (h *Handler) handle(ctx context.Context, w http.ResponseWriter, r *http.Request, req *request) answer {
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, CodeMethodNotAllowed, resultRejected, "method %s not allowed: callbacks are POSTed", quote(r.Method))
	}
	if r.ContentLength > MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, resultRejected, "body of %d bytes is over the limit of %d", r.ContentLength, MaxBodyBytes)
	}
	if a, ok := parseQuery(r, req); !ok {
		return a
	}
	if a, ok := h.authenticate(ctx, req); !ok {
		return a
	}
	if a, ok := readBody(w, r, req); !ok {
		return a
	}
	if a, ok := parseCommand(req); !ok {
		return a
	}
	decode, known := decoders[req.command]
	if !known {
		return ok(resultUnknownCommand, "ignored: CallbackCommand "+quote(req.command)+" is not handled by this version of roomsync")
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

// readBody reads the body, which is known to be at most MaxBodyBytes when
// it declares its length; one sent in chunks is cut off there.
func readBody(w http.ResponseWriter, r *http.Request, req *request) (answer, bool) {
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

// parseQuery checks the query string: every parameter once, a positive
// SdkAppid and a CallbackCommand.
func parseQuery(r *http.Request, req *request) (answer, bool) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query string does not parse: %v", err), false
	}
	req.query = query
	req.command = query.Get("CallbackCommand") // for the metrics, until the body confirms it
	for name, values := range query {
		if len(values) > 1 {
			return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter %s is repeated", quote(name)), false
		}
	}
	raw, found := query["SdkAppid"]
	if !found {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter SdkAppid is missing"), false
	}
	id, err := strconv.ParseInt(raw[0], 10, 64)
	if err != nil || id <= 0 {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter SdkAppid %s is not a positive integer", quote(raw[0])), false
	}
	req.sdkAppID = id
	if req.command == "" {
		return fail(http.StatusBadRequest, CodeBadQuery, resultRejected, "query parameter CallbackCommand is missing"), false
	}
	return answer{}, true
}

// authenticate decides which ChatApp, if any, the callback goes to (see
// lookup.Claim): the oldest claimant of its SdkAppid whose callback token
// verifies its Sign; or, when no claimant has callbackAuth and unsigned
// callbacks are allowed, the oldest claimant. Every refusal gets the same
// answer; the detail is for the log.
func (h *Handler) authenticate(ctx context.Context, req *request) (answer, bool) {
	claims, err := h.Apps.Claims(ctx, req.sdkAppID)
	if err != nil {
		return unavailable(err), false
	}
	if len(claims) == 0 {
		return unauthorized(resultUnknownApp, "no ChatApp claims SdkAppid %d", req.sdkAppID), false
	}
	if !lookup.AnySigned(claims) {
		if !h.AllowUnsigned {
			return unauthorized(resultUnauthorized, "no ChatApp of SdkAppid %d has spec.callbackAuth, and --allow-unsigned-callbacks is off", req.sdkAppID), false
		}
		req.app = claims[0].App
		return answer{}, true
	}
	sign, requestTime := req.query.Get("Sign"), req.query.Get("RequestTime")
	if sign == "" || requestTime == "" {
		return unauthorized(resultUnauthorized, "no Sign and RequestTime, and a ChatApp of SdkAppid %d has spec.callbackAuth", req.sdkAppID), false
	}
	sent, err := tencent.ParseRequestTime(requestTime)
	if err != nil {
		return unauthorized(resultUnauthorized, "%v", err), false
	}
	claim := lookup.SignedBy(claims, sign, requestTime)
	if claim == nil {
		return unauthorized(resultUnauthorized, "the Sign matches the callback token of no ChatApp of SdkAppid %d%s", req.sdkAppID, unreadableTokens(claims)), false
	}
	skew := defaultMaxClockSkew
	if auth := claim.App.Spec.CallbackAuth; auth.MaxClockSkew != nil {
		skew = auth.MaxClockSkew.Duration
	}
	if d := h.Now().Sub(sent); d > skew || d < -skew {
		// The Sign is good: the sender holds the token, and may know why.
		return fail(http.StatusUnauthorized, CodeUnauthorized, resultUnauthorized,
			"RequestTime %s is %s from the receiver's clock, more than maxClockSkew %s", requestTime, d.Round(time.Second), skew), false
	}
	req.app = claim.App
	return answer{}, true
}

// unreadableTokens tells, for the log, of claimants whose token could not
// be read.
func unreadableTokens(claims []*lookup.Claim) string {
	var out string
	for _, c := range claims {
		if c.TokenErr != nil {
			out += fmt.Sprintf("; ChatApp %s/%s cannot check a Sign: %v", c.App.Namespace, c.App.Name, c.TokenErr)
		}
	}
	return out
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
		return fail(http.StatusBadRequest, CodeBadBody, resultRejected, "CallbackCommand %s in the body differs from %s in the query", quote(env.CallbackCommand), quote(q)), false
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
	outcome, err := h.Rooms.Apply(ctx, req.app, *ev)
	if err != nil {
		if h.Lost != nil {
			h.Lost(client.ObjectKeyFromObject(req.app), ev.RoomID, h.Now())
		}
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
