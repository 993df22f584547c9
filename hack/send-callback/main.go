// Command send-callback posts a Tencent Cloud Chat room callback body to the
// roomsync receiver the way Tencent does: with the query string Tencent
// appends and, when a callback token is given, a Sign and RequestTime.
//
// Usage:
//
//	go run ./hack/send-callback -sdkappid 1400000001 [flags] [file | -]
//
// For example:
//
//	go run ./hack/send-callback -sdkappid 1400000001 -token s3cr3t -now config/samples/callback-update-room-info.json
//
// The body is read from file, or from standard input when file is "-" or
// missing. It must be a JSON object with a string CallbackCommand; the rest
// is sent as it is, so a body with wrong types can test the receiver's
// rejections. The token defaults to $ROOMSYNC_CALLBACK_TOKEN; -token=""
// sends an unsigned callback even when that is set.
//
// send-callback prints the HTTP status and the answer. It exits 0 when the
// status is 200 and the answer's ActionStatus is "OK", 1 when the callback
// could not be sent or was refused, and 2 when the command line or the body
// is unusable.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
)

// tokenEnv names the environment variable that holds the default token.
const tokenEnv = "ROOMSYNC_CALLBACK_TOKEN"

// maxAnswerBytes caps how much of the receiver's answer is read.
const maxAnswerBytes = 1 << 20

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// options are the command-line settings.
type options struct {
	url         string
	sdkAppID    int64
	token       string
	clientIP    string
	platform    string
	now         bool
	requestTime string
	insecure    bool
	timeout     time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command, with its surroundings passed in for tests. It
// returns the exit code.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, file, err := parseArgs(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "send-callback: %v\n", err)
		return exitUsage
	}
	body, err := readBody(file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "send-callback: %v\n", err)
		return exitUsage
	}
	req, err := buildRequest(context.Background(), opts, body, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "send-callback: %v\n", err)
		return exitUsage
	}
	if err := send(newClient(opts), req, stdout); err != nil {
		fmt.Fprintf(stderr, "send-callback: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// parseArgs parses the command line into options and the body's file name
// ("-" for standard input).
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (options, string, error) {
	var opts options
	fs := flag.NewFlagSet("send-callback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: send-callback -sdkappid ID [flags] [file | -]\n\n"+
			"Posts a Tencent room callback body (from file, or standard input) to the roomsync receiver,\n"+
			"signed as Tencent signs it when a token is given. Exits 0 when the answer is 200 with\n"+
			"ActionStatus OK, 1 when it is not or nothing was answered, 2 for usage errors.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.url, "url", "http://127.0.0.1:8082/callback", "receiver `URL`")
	fs.Int64Var(&opts.sdkAppID, "sdkappid", 0, "SDKAppID to send as SdkAppid (required)")
	fs.StringVar(&opts.token, "token", "", "callback `token` to sign with (default $"+tokenEnv+"); when empty, send no Sign and RequestTime")
	fs.StringVar(&opts.clientIP, "client-ip", "127.0.0.1", "ClientIP to send")
	fs.StringVar(&opts.platform, "platform", "RESTAPI", "OptPlatform to send")
	fs.BoolVar(&opts.now, "now", false, "set the body's EventTime to the current time (Unix milliseconds)")
	fs.StringVar(&opts.requestTime, "request-time", "", "RequestTime to send and sign instead of the current Unix `seconds`, to test the replay window")
	fs.BoolVar(&opts.insecure, "insecure", false, "skip TLS certificate verification, for self-signed development certificates")
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, "", err
		}
		// The flag package has printed the error and the usage.
		return options{}, "", errors.New("invalid command line")
	}

	tokenSet := false
	fs.Visit(func(f *flag.Flag) { tokenSet = tokenSet || f.Name == "token" })
	if !tokenSet {
		opts.token = getenv(tokenEnv)
	}

	u, err := url.Parse(opts.url)
	switch {
	case opts.sdkAppID <= 0:
		return options{}, "", errors.New("-sdkappid is required and must be a positive integer")
	case err != nil:
		return options{}, "", fmt.Errorf("-url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return options{}, "", fmt.Errorf("-url %q is not an http or https URL", opts.url)
	case opts.requestTime != "" && opts.token == "":
		return options{}, "", errors.New("-request-time needs a token (-token or $" + tokenEnv + ")")
	case opts.timeout <= 0:
		return options{}, "", errors.New("-timeout must be positive")
	case fs.NArg() > 1:
		return options{}, "", fmt.Errorf("want at most one body file, got %d arguments", fs.NArg())
	}
	file := "-"
	if fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	return opts, file, nil
}

// readBody reads the body from file, or from stdin when file is "-".
func readBody(file string, stdin io.Reader) ([]byte, error) {
	if file == "-" {
		body, err := io.ReadAll(stdin)
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

// buildRequest returns the request Tencent would send for body: a POST to
// opts.url with Tencent's query parameters appended, in Tencent's order, and
// signed when opts.token is set. With opts.now, the body's EventTime is set to
// now first.
func buildRequest(ctx context.Context, opts options, body []byte, now time.Time) (*http.Request, error) {
	command, err := callbackCommand(body)
	if err != nil {
		return nil, err
	}
	if opts.now {
		if body, err = setEventTime(body, now.UnixMilli()); err != nil {
			return nil, err
		}
	}

	q := tencent.CallbackQuery{
		SDKAppID: opts.sdkAppID, Command: command, ClientIP: opts.clientIP, OptPlatform: opts.platform,
		Token: opts.token, RequestTime: opts.requestTime,
	}.Encode(now)
	u, err := url.Parse(opts.url)
	if err != nil {
		return nil, fmt.Errorf("parsing -url: %w", err)
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

// callbackCommand returns the CallbackCommand of body, which must be a JSON
// object carrying it as a non-empty string.
func callbackCommand(body []byte) (string, error) {
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

// setEventTime returns body, a JSON object, with its top-level EventTime set
// to ms. The other members keep their values but not their order.
func setEventTime(body []byte, ms int64) ([]byte, error) {
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

// newClient returns the HTTP client for opts. It does not follow redirects:
// following one would turn the POST into a GET, and a redirect is worth
// seeing.
func newClient(opts options) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.insecure {
		transport.TLSClientConfig = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, //nolint:gosec // Asked for with -insecure, for self-signed development certificates.
		}
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       opts.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// send sends req and prints the status and the answer to stdout. It fails
// unless the status is 200 and the answer's ActionStatus is "OK".
func send(client *http.Client, req *http.Request, stdout io.Writer) error {
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sending the callback: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	fmt.Fprintf(stdout, "%s %s\n", resp.Proto, resp.Status)
	if len(answer) > 0 {
		fmt.Fprintf(stdout, "%s\n", bytes.TrimSuffix(answer, []byte("\n")))
	}
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	var result struct {
		ActionStatus string
	}
	if err := json.Unmarshal(answer, &result); err != nil {
		return fmt.Errorf("the answer is not JSON: %w", err)
	}
	if result.ActionStatus != "OK" {
		return fmt.Errorf("the receiver answered ActionStatus %q", result.ActionStatus)
	}
	return nil
}
