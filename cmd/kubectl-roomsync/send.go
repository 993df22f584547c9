package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/sendcallback"
	"github.com/roomsync/roomsync/internal/tencent"
)

// sendOptions are send's own flags.
type sendOptions struct {
	callback sendcallback.Options
	roomID   string
	roomName string
}

func newSendCommand(p *plugin) *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send CHATAPP [FILE | -] | send CHATAPP --room-id ID",
		Short: "Sign a callback with the ChatApp's token and post it to roomsync, as Tencent would",
		Long: "send posts a Tencent room callback body to a roomsync receiver the way Tencent does: with the\n" +
			"query string Tencent appends (SdkAppid from the ChatApp) and, when the ChatApp has callbackAuth,\n" +
			"a Sign made with the token from its Secret. The body comes from FILE, standard input, or, with\n" +
			"--room-id, is an update-room-info callback made up for the room, EventTime now: a quick test of\n" +
			"an install end to end. It prints the answer (its first 4 KiB, with control characters escaped)\n" +
			"and, once stored, the Room that holds the room.\n\n" +
			"The receiver's URL is --url, by default the ChatApp's spec.callbackRegistration.url.\n" +
			"It exits 0 when the answer is 200 with ActionStatus OK, 1 when it is not or nothing answered.",
		Example: "  kubectl roomsync send demo -n chat --url http://127.0.0.1:8082/callback --room-id smoke-test\n" +
			"  kubectl roomsync send demo -n chat --url https://roomsync.example.com/callback --now config/samples/callback-update-room-info.json",
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("want the ChatApp's name")
			case len(args) > 2:
				return usagef("want a ChatApp and at most one body file, got %d arguments", len(args))
			case o.roomID != "" && len(args) == 2:
				return usagef("--room-id makes the body up: give no body file")
			case o.roomName != "" && o.roomID == "":
				return usagef("--room-name needs --room-id")
			case o.callback.Timeout <= 0:
				return usagef("--timeout must be positive")
			case o.callback.URL != "":
				if err := sendcallback.CheckURL(o.callback.URL); err != nil {
					return usagef("--url: %v", err)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p.started()
			file := "-"
			if len(args) == 2 {
				file = args[1]
			}
			return p.send(cmd.Context(), args[0], file, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.callback.URL, "url", "", "the receiver's `URL` (default: the ChatApp's spec.callbackRegistration.url)")
	f.StringVar(&o.roomID, "room-id", "", "send an update-room-info callback for this RoomId, made up, instead of a body")
	f.StringVar(&o.roomName, "room-name", "", "the RoomName of the --room-id callback (default: the RoomId)")
	f.BoolVar(&o.callback.Now, "now", false, "set the body's EventTime to the current time (always so with --room-id)")
	f.StringVar(&o.callback.ClientIP, "client-ip", "127.0.0.1", "ClientIP to send")
	f.StringVar(&o.callback.Platform, "platform", "RESTAPI", "OptPlatform to send")
	f.BoolVar(&o.callback.Insecure, "insecure", false, "skip TLS certificate verification, for self-signed development certificates")
	f.DurationVar(&o.callback.Timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

// send is the send command, past its command line.
func (p *plugin) send(ctx context.Context, appName, file string, o sendOptions) error {
	c, ns, err := p.clientAndNamespace()
	if err != nil {
		return err
	}
	app := &chatv1alpha1.ChatApp{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: appName}, app); err != nil {
		return fmt.Errorf("reading ChatApp %s/%s: %w", ns, appName, err)
	}
	opts := o.callback
	opts.SDKAppID = app.Spec.SDKAppID
	if opts.URL == "" {
		if app.Spec.CallbackRegistration == nil {
			return usagef("--url is needed: ChatApp %s/%s has no spec.callbackRegistration.url", ns, appName)
		}
		opts.URL = app.Spec.CallbackRegistration.URL
	}
	if opts.Token, err = callbackToken(ctx, c, app); err != nil {
		return err
	}
	if opts.Token == "" {
		printf(p.streams.ErrOut, "ChatApp %s/%s has no callbackAuth: sending the callback unsigned\n", ns, appName)
	}

	var body []byte
	if o.roomID != "" {
		opts.Now = true
		if body, err = madeUpBody(o.roomID, o.roomName); err != nil {
			return err
		}
	} else if body, err = sendcallback.ReadBody(file, p.streams.In); err != nil {
		return usageError{err}
	}
	req, err := sendcallback.BuildRequest(ctx, opts, body, p.now())
	if err != nil {
		return usageError{err}
	}
	answer, err := sendcallback.Send(sendcallback.NewClient(opts), req)
	if answer != nil {
		printAnswer(p.streams.Out, answer)
	}
	if err != nil {
		return err
	}
	if roomID := roomIDOf(body); roomID != "" {
		p.showRoom(ctx, c, app, roomID, answer)
	}
	return nil
}

// printAnswer writes the answer's status line and body as a person reads
// them: escaped, and cut as sendcallback.Answer.String cuts them (the
// receiver, --url or the ChatApp's spec.callbackRegistration.url, may be
// anyone's).
func printAnswer(w io.Writer, a *sendcallback.Answer) {
	// String escapes every newline of the answer: the ones left end its
	// lines.
	for _, line := range strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n") {
		printf(w, "%s\n", line)
	}
}

// callbackToken reads the token app's callbacks are signed with, as the
// receiver reads it ("" when it has no callbackAuth).
func callbackToken(ctx context.Context, c client.Client, app *chatv1alpha1.ChatApp) (string, error) {
	tokens, err := lookup.CallbackTokens(ctx, c, app)
	if err != nil || len(tokens) == 0 {
		return "", err
	}
	return tokens[0], nil
}

// madeUpBody is an update-room-info callback for roomID, as Tencent would
// send after an update made with the REST API (EventTime is set when sent).
func madeUpBody(roomID, roomName string) ([]byte, error) {
	if roomName == "" {
		roomName = roomID
	}
	return json.Marshal(map[string]any{
		"CallbackCommand":  tencent.CommandAfterUpdateRoomInfo,
		"Operator_Account": "kubectl-roomsync",
		"RoomInfo":         map[string]any{"RoomId": roomID, "RoomName": roomName},
	})
}

// roomIDOf returns the RoomId a callback body is about: RoomInfo.RoomId
// (create and update) or RoomId (the others); "" when it has none.
func roomIDOf(body []byte) string {
	var b struct {
		RoomID   any `json:"RoomId"`
		RoomInfo struct {
			RoomID any `json:"RoomId"`
		}
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	for _, id := range []any{b.RoomInfo.RoomID, b.RoomID} {
		if s, ok := id.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// showRoom says which Room holds roomID after an OK answer.
func (p *plugin) showRoom(ctx context.Context, c client.Client, app *chatv1alpha1.ChatApp, roomID string, answer *sendcallback.Answer) {
	out := p.streams.Out
	if strings.HasPrefix(answer.ErrorInfo, "spooled") {
		printf(out, "The receiver spooled the event: it is written into its Room once the API server takes writes.\n")
		return
	}
	var rooms chatv1alpha1.RoomList
	if err := c.List(ctx, &rooms, client.InNamespace(app.Namespace),
		client.MatchingFields{"spec.roomID": roomID}); err != nil {
		printf(p.streams.ErrOut, "Could not look for the Room: %v\n", err)
		return
	}
	for _, room := range rooms.Items {
		if room.Spec.SDKAppID == app.Spec.SDKAppID {
			printf(out, "Room %s/%s: room %q, phase %s, %s, room name %q\n", room.Namespace, room.Name, roomID,
				orDash(string(room.Status.Phase)), members(&room), room.Status.RoomName)
			return
		}
	}
	printf(out, "No Room holds room %q (autoCreateRooms false, or not an event that creates a Room).\n", roomID)
}
