package main

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/sendcallback"
)

// Hostile values, as a chat end user, Tencent or a receiver could send
// them, and how the plugin shows them.
const (
	// osc52 writes "rm -rf ~" to the clipboard (OSC 52, ended by BEL).
	osc52     = "\x1b]52;c;cm0gLXJmIH4=\a"
	osc52Seen = `\x1b]52;c;cm0gLXJmIH4=\a`
	// clearScreen clears the screen and homes the cursor.
	clearScreen     = "\x1b[2J\x1b[H"
	clearScreenSeen = `\x1b[2J\x1b[H`
	// c1CSI is CSI as one C1 character: red text.
	c1CSI     = "\u009b31m"
	c1CSISeen = `\u009b31m`
	// c1OSC is OSC 52 in C1 characters, ended by ST.
	c1OSC     = "\u009d52;c;eA==\u009c"
	c1OSCSeen = `\u009d52;c;eA==\u009c`
	del       = "\x7f"
	delSeen   = `\x7f`
	// invalid is not UTF-8.
	invalid     = "\xff\xfe"
	invalidSeen = `\xff\xfe`
)

// assertTerminalSafe fails unless out is valid UTF-8 whose every character
// is printable or a newline: no ESC, BEL, tab, CR, DEL, C1 or other
// control or format character.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\ufffd"):
			t.Errorf("%s: invalid UTF-8 at byte %d: %q", what, i, around(out, i))
		case r != '\n' && !strconv.IsPrint(r):
			t.Errorf("%s: raw %U at byte %d: %q", what, r, i, around(out, i))
		}
	}
}

func around(s string, i int) string { return s[max(0, i-20):min(len(s), i+20)] }

// lineStarting returns the first line of out that starts with prefix.
func lineStarting(out, prefix string) (string, bool) {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l, true
		}
	}
	return "", false
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestPrintfEscapesItsArguments: the format is the plugin's, the arguments
// are data.
func TestPrintfEscapesItsArguments(t *testing.T) {
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{format: "%s", arg: "x" + osc52, want: "x" + osc52Seen},
		{format: "%v", arg: clearScreen, want: clearScreenSeen},
		{format: "%q", arg: "Stand" + osc52, want: `"Stand` + osc52Seen + `"`},
		{format: "%q", arg: "a\"b", want: `"a\"b"`},
		{format: "%-8s|", arg: "\a", want: `\a      |`},
		{format: "%s", arg: []byte(c1CSI), want: c1CSISeen},
		{format: "%v", arg: errors.New("boom" + del), want: "boom" + delSeen},
		{format: "%s", arg: stringer(invalid), want: invalidSeen},
		{format: "%s", arg: client.ObjectKey{Namespace: "chat", Name: "a\nb"}, want: `chat/a\nb`},
		{format: "%d", arg: int64(42), want: "42"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printf(&b, tt.format+"\n", tt.arg)
		if got := b.String(); got != tt.want+"\n" {
			t.Errorf("printf(%q, %#v) wrote %q, want %q", tt.format, tt.arg, got, tt.want+"\n")
		}
	}
}

// hostileRoom has something hostile in every field describe shows.
func hostileRoom() chatv1alpha1.Room {
	return room("chat", "standup", 1400000001, func(r *chatv1alpha1.Room) {
		r.Spec.RoomID = "standup" + clearScreen
		r.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementAll}
		r.Spec.Settings = &chatv1alpha1.RoomSettings{RoomName: ptr.To("Board" + c1OSC)}
		st := &r.Status
		st.RoomName = "Standup" + osc52
		st.OwnerAccount = clearScreen + "mallory"
		st.RoomType = c1CSI + "Conference"
		st.Destroyed = &chatv1alpha1.RoomDestroy{Time: at(time.Hour), Operator: "admin" + osc52, ReceivedTime: at(time.Hour)}
		st.Recording = &chatv1alpha1.RoomRecording{Active: true, Sessions: 1, JobName: "rec" + del, LastStartTime: ptr.To(at(time.Minute))}
		st.Resync = &chatv1alpha1.RoomResync{Time: ptr.To(at(time.Minute)), HandledRequest: "2026" + del}
		st.Management = &chatv1alpha1.RoomManagement{
			LastUpdateTime: ptr.To(at(time.Minute)), UpdatedFields: []string{"roomName" + c1CSI},
			Failure: &chatv1alpha1.ManagementFailure{Reason: chatv1alpha1.TencentRejectedReason, Command: "update_room_info",
				Message: "ErrorCode 100002: " + clearScreen + invalid, Time: at(time.Minute)},
		}
		st.LastCallbackCommand, st.LastOperator = "Room.CallbackAfterUpdateRoomInfo", "eve"+del
		st.LastClientIP, st.LastOptPlatform = "198.51.100.4"+invalid, "Web\tforged column"
		st.Conditions = []metav1.Condition{
			cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.TencentRejectedReason,
				"rejected\nRecording Jobs:\n  1  forged-job  Complete"),
		}
	})
}

func TestDescribeEscapes(t *testing.T) {
	r := hostileRoom()
	app := chatApp("chat", "demo", 1400000001, nil)
	events := []corev1.Event{
		event("Room", "chat", "standup", corev1.EventTypeWarning, "Rejected"+clearScreen, "room name "+osc52, 2*time.Minute),
		event("Room", "chat", "standup", corev1.EventTypeNormal, "Renamed", c1CSI+"renamed"+invalid+"\nEvents (oldest first):\n  forged", time.Minute),
	}
	events[1].ReportingController = "ctl" + del
	var out bytes.Buffer
	describeRoom(&out, roomDetails{room: &r, app: &app, events: events}, now)
	golden(t, "describe-escapes.golden", out.Bytes())

	s := out.String()
	assertTerminalSafe(t, "describe", s)
	for _, want := range []string{
		"Room name:   Standup" + osc52Seen + "\n",
		"Owner:       " + clearScreenSeen + "mallory\n",
		"Type:        " + c1CSISeen + "Conference\n",
		"Room ID:     standup" + clearScreenSeen + "\n",
		`Settings:    {"roomName":"Board` + c1OSCSeen,
		"Last event:  Room.CallbackAfterUpdateRoomInfo by eve" + delSeen + " from 198.51.100.4" + invalidSeen + ` (Web\tforged column)`,
		`rejected\nRecording Jobs:\n  1  forged-job  Complete`,
		"room name " + osc52Seen,
		c1CSISeen + "renamed" + invalidSeen + `\nEvents (oldest first):\n  forged`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("describe does not show %q", want)
		}
	}
	// The values' newlines start no line of their own.
	for _, section := range []string{"Recording Jobs:", "Events (oldest first):"} {
		if n := strings.Count(s, "\n"+section+"\n"); n != 1 {
			t.Errorf("%d lines say %q, want 1", n, section)
		}
	}
	if l, ok := lineStarting(s, "  forged"); ok {
		t.Errorf("a value forged the line %q", l)
	}
}

func TestStatusEscapes(t *testing.T) {
	app := chatApp("chat", "demo", 1400000001, func(a *chatv1alpha1.ChatApp) {
		a.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Administrator: "administrator"}
		a.Spec.CallbackRegistration = &chatv1alpha1.CallbackRegistration{URL: "https://roomsync.example.com/callback" + osc52}
		a.Status.Conditions = append(a.Status.Conditions, cond(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionFalse,
			chatv1alpha1.RESTAPIBadAnswerReason, "get_callback answered "+clearScreen))
		a.Status.Resync = &chatv1alpha1.ChatAppResync{StartTime: ptr.To(at(time.Hour)), CompletionTime: ptr.To(at(time.Minute)),
			Failure: &chatv1alpha1.ResyncFailure{Reason: chatv1alpha1.RESTAPIBadAnswerReason, Message: c1CSI + invalid, Time: at(time.Minute)}}
	})
	v := view{
		apps: []chatv1alpha1.ChatApp{app},
		rooms: []chatv1alpha1.Room{
			room("chat", "standup", 1400000001, func(r *chatv1alpha1.Room) {
				msg := "duplicate" + del + "\n\nNothing needs a human."
				r.Status.Conditions = []metav1.Condition{
					cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.DuplicateRoomIDReason, msg),
					cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.DuplicateRoomIDReason, msg),
				}
			}),
			room("chat", "recorder", 1400000001, func(r *chatv1alpha1.Room) {
				r.Status.Conditions = append(r.Status.Conditions, cond(chatv1alpha1.RecordingCondition, metav1.ConditionFalse,
					chatv1alpha1.RecordingFailedReason, "Job failed: "+c1OSC))
			}),
		},
		replays: []corev1.Event{event("ChatApp", "chat", "demo", corev1.EventTypeWarning, spoolReplayedEvent,
			"Replayed "+osc52+"\tcolumn", time.Minute)},
	}
	r := evaluate(v, now)
	var out bytes.Buffer
	writeReport(&out, r, "chat")
	golden(t, "status-escapes.golden", out.Bytes())

	s := out.String()
	assertTerminalSafe(t, "status", s)
	for _, want := range []string{
		"Callback URL:  https://roomsync.example.com/callback" + osc52Seen + ": RESTAPIBadAnswer (False): get_callback answered " + clearScreenSeen,
		"failed 60s ago: RESTAPIBadAnswer: " + c1CSISeen + invalidSeen,
		"(Warning): Replayed " + osc52Seen + `\tcolumn`,
		"duplicate" + delSeen + `\n\nNothing needs a human.`,
		"Job failed: " + c1OSCSeen,
		"3 things need a human.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("status does not show %q", want)
		}
	}
	if l, ok := lineStarting(s, "Nothing needs a human."); ok {
		t.Errorf("a value forged the line %q", l)
	}
}

// runPlugin runs the command line against c, in namespace chat.
func runPlugin(t *testing.T, c client.Client, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	p := &plugin{
		flags:   genericclioptions.NewConfigFlags(true),
		streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		now:     time.Now,
		cluster: c,
	}
	code = p.run(t.Context(), append([]string{"--kubeconfig", unreachableKubeconfig(t)}, args...))
	return out.String(), errOut.String(), code
}

// TestResyncEscapes: what resync shows of the Room and the ChatApp once
// roomsync has handled the request.
func TestResyncEscapes(t *testing.T) {
	// handled plays roomsync: a Get after the request sees it handled.
	handled := func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if err := c.Get(ctx, key, obj, opts...); err != nil {
			return err
		}
		value := obj.GetAnnotations()[chatv1alpha1.ResyncRequestedAtAnnotation]
		if value == "" {
			return nil
		}
		switch o := obj.(type) {
		case *chatv1alpha1.Room:
			o.Status.Resync = &chatv1alpha1.RoomResync{HandledRequest: value, Time: ptr.To(metav1.Now())}
			o.Status.RoomName = "Standup" + osc52 + "\nRoom chat/standup: forged"
		case *chatv1alpha1.ChatApp:
			o.Status.Resync = &chatv1alpha1.ChatAppResync{HandledRequest: value, Failure: &chatv1alpha1.ResyncFailure{
				Reason: chatv1alpha1.RESTAPIBadAnswerReason, Message: "answered " + clearScreen + c1CSI + invalid, Time: metav1.Now()}}
		}
		return nil
	}
	app := chatApp("chat", "demo", 1400000001, func(a *chatv1alpha1.ChatApp) {
		a.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Administrator: "administrator"}
	})
	standup := room("chat", "standup", 1400000001, nil)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&app, &standup).
		WithInterceptorFuncs(interceptor.Funcs{Get: handled}).Build()

	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{args: []string{"resync", "standup", "--timeout", "10s"}, wantCode: 0,
			want: `  phase Active, members unknown, room name "Standup` + osc52Seen + `\nRoom chat/standup: forged"` + "\n"},
		{args: []string{"resync", "--all", "demo", "--timeout", "10s"}, wantCode: 1,
			want: "ChatApp chat/demo: the pass failed: RESTAPIBadAnswer: answered " + clearScreenSeen + c1CSISeen + invalidSeen + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runPlugin(t, c, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.want) {
				t.Errorf("stdout does not say %q:\n%s", tt.want, stdout)
			}
			assertTerminalSafe(t, "stdout", stdout)
			assertTerminalSafe(t, "stderr", stderr)
			if l, ok := lineStarting(stdout, "Room chat/standup: forged"); ok {
				t.Errorf("a value forged the line %q", l)
			}
		})
	}
}

// TestSendEchoIsBoundedAndEscaped: send shows at most sendcallback.MaxShownBodyBytes bytes of
// whatever a receiver answers, escaped, and the Room the callback names.
func TestSendEchoIsBoundedAndEscaped(t *testing.T) {
	hostile := osc52 + clearScreen + c1CSI + del + invalid + "\nRoom chat/forged: room \"x\", phase Active\n"
	huge := hostile + strings.Repeat("A", 2<<20)
	tests := []struct {
		name string
		// answer writes the receiver's answer.
		answer   func(w http.ResponseWriter)
		wantCode int
		// want are parts of stdout, wantErr of stderr.
		want    []string
		wantErr string
		// maxOut bounds stdout's length.
		maxOut int
	}{
		{
			name: "huge hostile body",
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(huge))
			},
			wantCode: 1,
			want: []string{"HTTP/1.1 200 OK\n", osc52Seen + clearScreenSeen + c1CSISeen + delSeen + invalidSeen + `\nRoom chat/forged: room "x", phase Active\nAAA`,
				"A\n(the answer goes on: " + strconv.Itoa(1<<20-sendcallback.MaxShownBodyBytes) + " more bytes, not shown)\n"},
			wantErr: "error: the answer is not JSON",
			maxOut:  sendcallback.MaxShownBodyBytes + 200,
		},
		{
			name: "hostile status line",
			answer: func(w http.ResponseWriter) {
				conn, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					panic(err)
				}
				defer conn.Close()
				_, _ = buf.WriteString("HTTP/1.1 500 Oops" + osc52 + clearScreen + c1CSI + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				_ = buf.Flush()
			},
			wantCode: 1,
			want:     []string{"HTTP/1.1 500 Oops" + osc52Seen + clearScreenSeen + c1CSISeen + "\n"},
			wantErr:  "error: the receiver answered 500 Oops" + osc52Seen + clearScreenSeen + c1CSISeen + "\n",
			maxOut:   200,
		},
		{
			name: "OK, and a Room with a hostile name",
			answer: func(w http.ResponseWriter) {
				_, _ = w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"` + c1CSI + del + `"}`))
			},
			wantCode: 0,
			want: []string{`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"` + c1CSISeen + delSeen + `"}` + "\n",
				`Room chat/standup: room "standup", phase Active, members unknown, room name "Standup` + osc52Seen + `\nRoom chat/forged"` + "\n"},
			maxOut: 400,
		},
	}
	app := chatApp("chat", "demo", 1400000001, func(a *chatv1alpha1.ChatApp) { a.Spec.CallbackAuth = nil })
	standup := room("chat", "standup", 1400000001, func(r *chatv1alpha1.Room) {
		r.Status.RoomName = "Standup" + osc52 + "\nRoom chat/forged"
	})
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&app, &standup).
		WithIndex(&chatv1alpha1.Room{}, "spec.roomID", func(o client.Object) []string {
			return []string{o.(*chatv1alpha1.Room).Spec.RoomID}
		}).Build()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tt.answer(w) }))
			defer receiver.Close()
			stdout, stderr, code := runPlugin(t, c, "send", "demo", "--url", receiver.URL+"/callback", "--room-id", "standup")
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not say %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantErr, stderr)
			}
			if len(stdout) > tt.maxOut {
				t.Errorf("stdout has %d bytes, want at most %d", len(stdout), tt.maxOut)
			}
			assertTerminalSafe(t, "stdout", stdout)
			assertTerminalSafe(t, "stderr", stderr)
			if l, ok := lineStarting(stdout, "Room chat/forged"); ok {
				t.Errorf("the answer forged the line %q", l)
			}
		})
	}
}

// TestOutputGoesThroughFormat keeps the rule of format.go: outside it,
// nothing writes to the terminal but printf, tables and fields, and their
// formats are constants, so every value printed is escaped.
func TestOutputGoesThroughFormat(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "format.go" {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var fn string
			switch e := call.Fun.(type) {
			case *ast.Ident:
				fn = e.Name
			case *ast.SelectorExpr:
				fn = e.Sel.Name
			}
			where := fset.Position(call.Pos())
			switch {
			case strings.HasPrefix(fn, "Print") || strings.HasPrefix(fn, "Fprint") || strings.HasPrefix(fn, "Write") || fn == "Copy":
				t.Errorf("%s: %s writes around format.go's escaping: use printf, a table or fields", where, fn)
			case fn == "printf" && len(call.Args) >= 2 && !isStringLit(call.Args[1]),
				fn == "add" && len(call.Args) >= 2 && !isStringLit(call.Args[1]):
				t.Errorf("%s: the format of %s is not a constant: pass the value as an argument, which is escaped", where, fn)
			}
			return true
		})
	}
}

func isStringLit(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}
