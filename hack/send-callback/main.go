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
// is unusable. `kubectl roomsync send` does the same with the ChatApp's
// token; both build and send the callback with internal/sendcallback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/roomsync/roomsync/internal/sendcallback"
	"github.com/roomsync/roomsync/internal/termsafe"
)

// tokenEnv names the environment variable that holds the default token.
const tokenEnv = "ROOMSYNC_CALLBACK_TOKEN"

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

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
	body, err := sendcallback.ReadBody(file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "send-callback: %v\n", err)
		return exitUsage
	}
	req, err := sendcallback.BuildRequest(context.Background(), opts, body, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "send-callback: %v\n", err)
		return exitUsage
	}
	answer, err := sendcallback.Send(sendcallback.NewClient(opts), req)
	if answer != nil {
		answer.Print(stdout)
	}
	if err != nil {
		// The error can quote the receiver's status line.
		fmt.Fprintf(stderr, "send-callback: %s\n", termsafe.Escape(err.Error()))
		return exitFailed
	}
	return exitOK
}

// parseArgs parses the command line into options and the body's file name
// ("-" for standard input).
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (sendcallback.Options, string, error) {
	var opts sendcallback.Options
	fs := flag.NewFlagSet("send-callback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: send-callback -sdkappid ID [flags] [file | -]\n\n"+
			"Posts a Tencent room callback body (from file, or standard input) to the roomsync receiver,\n"+
			"signed as Tencent signs it when a token is given. Exits 0 when the answer is 200 with\n"+
			"ActionStatus OK, 1 when it is not or nothing was answered, 2 for usage errors.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.URL, "url", "http://127.0.0.1:8082/callback", "receiver `URL`")
	fs.Int64Var(&opts.SDKAppID, "sdkappid", 0, "SDKAppID to send as SdkAppid (required)")
	fs.StringVar(&opts.Token, "token", "", "callback `token` to sign with (default $"+tokenEnv+"); when empty, send no Sign and RequestTime")
	fs.StringVar(&opts.ClientIP, "client-ip", "127.0.0.1", "ClientIP to send")
	fs.StringVar(&opts.Platform, "platform", "RESTAPI", "OptPlatform to send")
	fs.BoolVar(&opts.Now, "now", false, "set the body's EventTime to the current time (Unix milliseconds)")
	fs.StringVar(&opts.RequestTime, "request-time", "", "RequestTime to send and sign instead of the current Unix `seconds`, to test the replay window")
	fs.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification, for self-signed development certificates")
	fs.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return sendcallback.Options{}, "", err
		}
		// The flag package has printed the error and the usage.
		return sendcallback.Options{}, "", errors.New("invalid command line")
	}

	tokenSet := false
	fs.Visit(func(f *flag.Flag) { tokenSet = tokenSet || f.Name == "token" })
	if !tokenSet {
		opts.Token = getenv(tokenEnv)
	}

	switch urlErr := sendcallback.CheckURL(opts.URL); {
	case opts.SDKAppID <= 0:
		return sendcallback.Options{}, "", errors.New("-sdkappid is required and must be a positive integer")
	case urlErr != nil:
		return sendcallback.Options{}, "", fmt.Errorf("-url: %w", urlErr)
	case opts.RequestTime != "" && opts.Token == "":
		return sendcallback.Options{}, "", errors.New("-request-time needs a token (-token or $" + tokenEnv + ")")
	case opts.Timeout <= 0:
		return sendcallback.Options{}, "", errors.New("-timeout must be positive")
	case fs.NArg() > 1:
		return sendcallback.Options{}, "", fmt.Errorf("want at most one body file, got %d arguments", fs.NArg())
	}
	file := "-"
	if fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	return opts, file, nil
}
