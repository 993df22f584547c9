// Package sendcallback posts a Tencent Cloud Chat room callback body to a
// roomsync receiver the way Tencent does: with the query string Tencent
// appends and, when a callback token is given, a Sign and RequestTime. The
// send-callback tool (hack/send-callback) and `kubectl roomsync send` use it.
package sendcallback

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/termsafe"
)

// maxAnswerBytes caps how much of the receiver's answer is read.
const maxAnswerBytes = 1 << 20

// Options say where and how to send a callback.
type Options struct {
	// URL is the receiver's URL; Tencent's query parameters are appended to
	// its own.
	URL      string
	SDKAppID int64
	// Token, when set, signs the callback (Sign and RequestTime).
	Token string
	// ClientIP and Platform are sent as ClientIP and OptPlatform.
	ClientIP, Platform string
	// Now sets the body's EventTime to the time of sending.
	Now bool
	// RequestTime is sent and signed instead of the current Unix seconds.
	RequestTime string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// Timeout bounds the whole exchange.
	Timeout time.Duration
}

// CheckURL reports whether u is an http or https URL with a host.
func CheckURL(u string) error {
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return err
	case parsed.Scheme != "http" && parsed.Scheme != "https" || parsed.Host == "":
		return fmt.Errorf("%q is not an http or https URL", u)
	}
	return nil
}

// BuildRequest returns the request Tencent would send for body: a POST to
// opts.URL with Tencent's query parameters appended, in Tencent's order, and
// signed when opts.Token is set. With opts.Now, the body's EventTime is set
// to now first.
func BuildRequest(ctx context.Context, opts Options, body []byte, now time.Time) (*http.Request, error) {
	command, err := CallbackCommand(body)
	if err != nil {
		return nil, err
	}
	if opts.Now {
		if body, err = SetEventTime(body, now.UnixMilli()); err != nil {
			return nil, err
		}
	}

	q := tencent.CallbackQuery{
		SDKAppID: opts.SDKAppID, Command: command, ClientIP: opts.ClientIP, OptPlatform: opts.Platform,
		Token: opts.Token, RequestTime: opts.RequestTime,
	}.Encode(now)
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing the URL: %w", err)
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + q
	} else {
		u.RawQuery = q
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// CallbackCommand returns the CallbackCommand of body, which must be a JSON
// object carrying it as a non-empty string.
func CallbackCommand(body []byte) (string, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return "", fmt.Errorf("the body is not a JSON object: %w", err)
	}
	raw, ok := members["CallbackCommand"]
	if !ok {
		return "", errors.New("the body has no CallbackCommand")
	}
	var command string
	if err := json.Unmarshal(raw, &command); err != nil || command == "" {
		return "", errors.New("the body's CallbackCommand is not a non-empty string")
	}
	return command, nil
}

// SetEventTime returns body, a JSON object, with its top-level EventTime set
// to ms. The other members keep their values but not their order.
func SetEventTime(body []byte, ms int64) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	members["EventTime"] = json.RawMessage(strconv.FormatInt(ms, 10))
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(members); err != nil {
		return nil, fmt.Errorf("encoding the body: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// NewClient returns the HTTP client for opts. It does not follow redirects:
// following one would turn the POST into a GET, and a redirect is worth
// seeing.
func NewClient(opts Options) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.Insecure {
		transport.TLSClientConfig = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, //nolint:gosec // Asked for, for self-signed development certificates.
		}
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Answer is the receiver's answer to a callback.
type Answer struct {
	// Proto and Status are the HTTP version and status line ("200 OK").
	Proto, Status string
	StatusCode    int
	// Body is the answer as sent (at most 1 MiB of it).
	Body []byte
	// ActionStatus, ErrorCode and ErrorInfo are the answer's fields, when
	// it is JSON.
	ActionStatus string
	ErrorCode    int64
	ErrorInfo    string
}

// Bounds of what String shows of an answer: the receiver may be anyone's.
const (
	MaxShownStatusBytes = 256
	MaxShownBodyBytes   = 4 << 10
)

// String is the status line and the answer as a person reads them, safe
// for a terminal: escaped (termsafe.Escape), the status line cut after
// MaxShownStatusBytes and the body after MaxShownBodyBytes, with a line
// that says how much was left out. It ends with a newline.
func (a *Answer) String() string {
	var b strings.Builder
	status, _ := termsafe.Clip(a.Proto+" "+a.Status, MaxShownStatusBytes)
	b.WriteString(termsafe.Escape(status) + "\n")
	body, cut := termsafe.Clip(strings.TrimRight(string(a.Body), "\r\n"), MaxShownBodyBytes)
	if body != "" {
		b.WriteString(termsafe.Escape(body) + "\n")
	}
	if cut > 0 {
		fmt.Fprintf(&b, "(the answer goes on: %d more bytes, not shown)\n", cut)
	}
	return b.String()
}

// Print writes String to w.
func (a *Answer) Print(w io.Writer) { _, _ = io.WriteString(w, a.String()) }

// Send sends req and returns the answer, which is nil only when nothing was
// answered. It fails unless the status is 200 and the answer's
// ActionStatus is "OK".
func Send(client *http.Client, req *http.Request) (*Answer, error) {
	resp, err := client.Do(req)
	if err != nil {
		// The URL's Sign is good for a replay within the receiver's
		// maxClockSkew: keep it out of the error, which may be shown.
		return nil, fmt.Errorf("sending the callback: %w", tencent.RedactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	a := &Answer{Proto: resp.Proto, Status: resp.Status, StatusCode: resp.StatusCode, Body: body}
	if err != nil {
		return a, fmt.Errorf("reading the answer: %w", err)
	}
	var fields struct {
		ActionStatus string
		ErrorCode    int64
		ErrorInfo    string
	}
	jsonErr := json.Unmarshal(body, &fields)
	a.ActionStatus, a.ErrorCode, a.ErrorInfo = fields.ActionStatus, fields.ErrorCode, fields.ErrorInfo
	switch {
	case resp.StatusCode != http.StatusOK:
		return a, fmt.Errorf("the receiver answered %s", resp.Status)
	case jsonErr != nil:
		return a, fmt.Errorf("the answer is not JSON: %w", jsonErr)
	case a.ActionStatus != "OK":
		return a, fmt.Errorf("the receiver answered ActionStatus %q", a.ActionStatus)
	}
	return a, nil
}

// ReadBody reads a callback body from file, or from in when file is "-".
func ReadBody(file string, in io.Reader) ([]byte, error) {
	if file == "-" {
		body, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("reading the body from standard input: %w", err)
		}
		return body, nil
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return body, nil
}
