package webhookserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// ErrorCode is the ErrorCode of an answer. 0 means OK; the others are the
// HTTP status followed by a two-digit number, so the code alone says what
// went wrong. They are documented in docs/concepts.md ("Callback answers").
type ErrorCode int

// ErrorCodes of roomsync's answers.
const (
	// CodeOK: the event was stored (in its Room, or in the spool), or it
	// needed no write (stale, ignored).
	CodeOK ErrorCode = 0
	// CodeBadQuery: SdkAppid missing, repeated or not a number, a repeated
	// query parameter, or a query string that does not parse.
	CodeBadQuery ErrorCode = 40001
	// CodeBadBody: the body is not one JSON object, a field has the wrong
	// type, or CallbackCommand is missing or differs from the query's.
	CodeBadBody ErrorCode = 40002
	// CodeBadEvent: RoomId missing or not UTF-8 of at most 48 bytes,
	// EventTime missing or not positive, or a value the API server refused.
	CodeBadEvent ErrorCode = 40003
	// CodeUnauthorized: no ChatApp takes the callback. Its SdkAppid is not
	// claimed by any ChatApp, or its Sign and RequestTime are missing or
	// verify with no claimant's token (a claimant whose token Secret cannot
	// be read verifies none), or no claimant has callbackAuth and unsigned
	// callbacks are not allowed: all answered alike (ErrorInfo
	// unauthorizedInfo), so that a caller learns nothing of which ChatApps
	// exist. Or the Sign verified but RequestTime is outside the ChatApp's
	// maxClockSkew: that answer says so.
	CodeUnauthorized ErrorCode = 40101
	// CodeUnknownPath: the request was not sent to /callback.
	CodeUnknownPath ErrorCode = 40402
	// CodeMethodNotAllowed: not a POST.
	CodeMethodNotAllowed ErrorCode = 40501
	// CodeBodyTooLarge: the body is over 1 MiB.
	CodeBodyTooLarge ErrorCode = 41301
	// CodeInternal: the Room could not be written for a reason retrying
	// will not fix (for example its name is taken by another Room).
	CodeInternal ErrorCode = 50001
	// CodeUnavailable: the API server did not take the write within
	// --callback-timeout, and there is no spool or it is full. Nothing was
	// stored; sending again is safe.
	CodeUnavailable ErrorCode = 50301
)

// Results, the result label of roomsync_callbacks_total.
const (
	resultApplied        = "applied"
	resultSpooled        = "spooled"
	resultStale          = "stale"
	resultUnknownCommand = "unknown_command"
	resultUnknownRoom    = "unknown_room"
	resultRejected       = "rejected"
	resultUnauthorized   = "unauthorized"
	resultUnknownApp     = "unknown_app"
	resultUnavailable    = "unavailable"
	resultError          = "error"
)

// answer is what the receiver says to one callback.
type answer struct {
	status int       // HTTP status
	code   ErrorCode // ErrorCode in the body
	info   string    // ErrorInfo in the body
	result string    // result label of the metrics
	// detail, when set, is logged instead of info: what the caller is not
	// told.
	detail string
}

// body is the JSON answer Tencent's sender expects.
type body struct {
	ActionStatus string
	ErrorInfo    string
	ErrorCode    ErrorCode
}

func ok(result, info string) answer {
	return answer{status: http.StatusOK, code: CodeOK, info: info, result: result}
}

func fail(status int, code ErrorCode, result, format string, args ...any) answer {
	return answer{status: status, code: code, info: fmt.Sprintf(format, args...), result: result}
}

// unauthorizedInfo is the ErrorInfo of every callback no ChatApp takes.
const unauthorizedInfo = "unauthorized: no ChatApp takes this callback; check its SdkAppid, and that Sign and RequestTime " +
	"are made with the app's callback token"

// unauthorized answers a callback that no ChatApp takes, without saying
// why; the log says why (format and args).
func unauthorized(result, format string, args ...any) answer {
	return answer{status: http.StatusUnauthorized, code: CodeUnauthorized, info: unauthorizedInfo, result: result, detail: fmt.Sprintf(format, args...)}
}

// maxQuotedBytes bounds what of a caller's string an answer or a log line
// quotes.
const maxQuotedBytes = 256

// quote quotes s, a string the caller chose, for an answer or a log line:
// at most maxQuotedBytes of it, escaped, and how long it was when cut.
func quote(s string) string {
	if len(s) <= maxQuotedBytes {
		return strconv.Quote(s)
	}
	cut := maxQuotedBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("... (%d bytes)", len(s))
}

func (a answer) write(w http.ResponseWriter) {
	b := body{ActionStatus: "OK", ErrorInfo: a.info, ErrorCode: a.code}
	if a.code != CodeOK {
		b.ActionStatus = "FAIL"
	}
	data, _ := json.Marshal(b) // cannot fail: strings and an int
	w.Header().Set("Content-Type", "application/json")
	if a.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(data)
}
