package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/tencent/tencenttest"
)

const (
	ourCallbackURL   = "https://roomsync.example.com/callback"
	otherCallbackURL = "https://other-cluster.example.com/callback"
)

// everyCommand is what roomsync registers when commands is empty.
var everyCommand = []string{
	tencent.CommandAfterCreateRoom, tencent.CommandAfterUpdateRoomInfo, tencent.CommandAfterDestroyRoom,
	tencent.CommandAfterMemberEnter, tencent.CommandAfterMemberLeave, tencent.CommandAfterSeatInfoChanged,
}

// callbackApp creates a namespace with the secret key Secret and a ChatApp
// whose REST API is f, with reg as its callbackRegistration, resyncing
// every interval.
func callbackApp(t *testing.T, f *tencenttest.Server, sdkAppID int64, reg chatv1alpha1.CallbackRegistration, interval time.Duration) *chatv1alpha1.ChatApp {
	t.Helper()
	ns := newNamespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tencent", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"secretKey": fakeKey}}
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Spec: chatv1alpha1.ChatAppSpec{
		SDKAppID: sdkAppID,
		RestAPI: &chatv1alpha1.RestAPISpec{
			Endpoint:          f.URL,
			Administrator:     fakeAdmin,
			SecretKeyRef:      chatv1alpha1.SecretKeyReference{Name: "tencent", Key: "secretKey"},
			ResyncInterval:    &metav1.Duration{Duration: interval},
			RequestsPerSecond: ptr.To[int32](200),
		},
		CallbackRegistration: &reg,
	}}
	for _, obj := range []client.Object{secret, app} {
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// callbackCondition returns "Status/Reason" of app's CallbackRegistered.
func callbackCondition(app *chatv1alpha1.ChatApp) string {
	if c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

// registeredNow reports whether app's status and conditions say Tencent
// has its registration, for its current generation.
func registeredNow(app *chatv1alpha1.ChatApp) bool {
	st := app.Status.CallbackRegistration
	return st != nil && st.ObservedGeneration == app.Generation && st.Reason == chatv1alpha1.CallbackRegisteredReason &&
		callbackCondition(app) == "True/"+chatv1alpha1.CallbackRegisteredReason && app.Status.ObservedGeneration == app.Generation
}

// configWrites counts the calls that changed the fake's callback
// configuration.
func configWrites(f *tencenttest.Server) int {
	n := 0
	for _, r := range f.Requests("") {
		switch r.Command {
		case tencent.ServiceConfig + "." + tencent.CommandSetCallback, tencent.ServiceConfig + "." + tencent.CommandUpdateCallback,
			tencent.ServiceConfig + "." + tencent.CommandDeleteCallback:
			n++
		}
	}
	return n
}

func sameCommands(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestCallbackRegistrationSetsTheURLWhenTencentHasNone(t *testing.T) {
	f, id := newFake(t)
	app := callbackApp(t, f, id, chatv1alpha1.CallbackRegistration{URL: ourCallbackURL}, time.Hour)

	eventually(t, app, "the registration is reported", func() bool { return registeredNow(app) })
	cfg, ok := f.CallbackConfig()
	if !ok || cfg.URL != ourCallbackURL || !sameCommands(cfg.Commands, everyCommand) {
		t.Fatalf("Tencent has %+v (%v), want %s with every command roomsync handles", cfg, ok, ourCallbackURL)
	}
	st := app.Status.CallbackRegistration
	if st.URL != ourCallbackURL || !sameCommands(st.Commands, everyCommand) || st.CheckTime == nil {
		t.Errorf("status.callbackRegistration %+v does not show what Tencent has", st)
	}
	if res := health(t, app); res.Status != kstatus.CurrentStatus {
		t.Errorf("kstatus %s (%s), want Current", res.Status, res.Message)
	}
	e := waitForEventAbout(t, app.Namespace, "ChatApp", app.Name, chatv1alpha1.CallbackRegisteredEvent)
	if e.Type != corev1.EventTypeNormal || !strings.Contains(e.Note, ourCallbackURL) {
		t.Errorf("Event %s %q", e.Type, e.Note)
	}
}

func TestCallbackRegistrationKeepsAwayFromAnotherURLUntilTakeOver(t *testing.T) {
	f, id := newFake(t)
	theirs := tencent.CallbackConfig{URL: otherCallbackURL, Commands: []string{tencent.CommandAfterCreateRoom}}
	f.SetCallbackConfig(theirs)
	app := callbackApp(t, f, id, chatv1alpha1.CallbackRegistration{URL: ourCallbackURL}, time.Hour)

	eventually(t, app, "the ChatApp says the URL is taken", func() bool {
		return callbackCondition(app) == "False/"+chatv1alpha1.CallbackURLTakenReason && app.Status.ObservedGeneration == app.Generation
	})
	c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition)
	if !strings.Contains(c.Message, otherCallbackURL) || !strings.Contains(c.Message, "takeOver") {
		t.Errorf("CallbackRegistered message %q does not name %s and takeOver", c.Message, otherCallbackURL)
	}
	if readyReason(app.Status.Conditions) != "False/"+chatv1alpha1.CallbackURLTakenReason ||
		!meta.IsStatusConditionTrue(app.Status.Conditions, chatv1alpha1.StalledCondition) {
		t.Errorf("conditions %+v: want Ready=False and Stalled=True with %s", app.Status.Conditions, chatv1alpha1.CallbackURLTakenReason)
	}
	if res := health(t, app); res.Status != kstatus.FailedStatus {
		t.Errorf("kstatus %s, want Failed", res.Status)
	}
	if st := app.Status.CallbackRegistration; st.URL != otherCallbackURL || !slices.Equal(st.Commands, theirs.Commands) {
		t.Errorf("status.callbackRegistration %+v does not show what Tencent has", st)
	}
	if cfg, _ := f.CallbackConfig(); cfg.URL != otherCallbackURL || !slices.Equal(cfg.Commands, theirs.Commands) || configWrites(f) != 0 {
		t.Fatalf("Tencent's configuration was changed (%+v, %d writes)", cfg, configWrites(f))
	}
	if e := waitForEventAbout(t, app.Namespace, "ChatApp", app.Name, chatv1alpha1.CallbackURLTakenReason); e.Type != corev1.EventTypeWarning {
		t.Errorf("Event type %s, want Warning", e.Type)
	}

	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.CallbackRegistration.TakeOver = true
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "the URL is taken over", func() bool { return registeredNow(app) })
	if cfg, _ := f.CallbackConfig(); cfg.URL != ourCallbackURL || !sameCommands(cfg.Commands, everyCommand) {
		t.Errorf("Tencent has %+v after takeOver", cfg)
	}
	if meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition) != nil {
		t.Errorf("still Stalled after takeOver: %+v", app.Status.Conditions)
	}
	if res := health(t, app); res.Status != kstatus.CurrentStatus {
		t.Errorf("kstatus %s (%s), want Current", res.Status, res.Message)
	}
	if e := waitForEventAbout(t, app.Namespace, "ChatApp", app.Name, chatv1alpha1.CallbackRegisteredEvent); !strings.Contains(e.Note, otherCallbackURL) {
		t.Errorf("Event %q does not say which URL was replaced", e.Note)
	}
}

func TestCallbackRegistrationRestoresAConsoleChange(t *testing.T) {
	f, id := newFake(t)
	app := callbackApp(t, f, id, chatv1alpha1.CallbackRegistration{URL: ourCallbackURL}, time.Second)
	eventually(t, app, "the registration is reported", func() bool { return registeredNow(app) })

	// Someone unticks callbacks in the console.
	f.SetCallbackConfig(tencent.CallbackConfig{URL: ourCallbackURL, Commands: []string{tencent.CommandAfterCreateRoom}})
	e := waitForEventAbout(t, app.Namespace, "ChatApp", app.Name, chatv1alpha1.CallbackRestoredEvent)
	if e.Type != corev1.EventTypeNormal {
		t.Errorf("Event type %s, want Normal", e.Type)
	}
	eventually(t, app, "the registration is reported again", func() bool {
		return registeredNow(app) && sameCommands(app.Status.CallbackRegistration.Commands, everyCommand)
	})
	if cfg, _ := f.CallbackConfig(); cfg.URL != ourCallbackURL || !sameCommands(cfg.Commands, everyCommand) {
		t.Errorf("Tencent has %+v, want it restored", cfg)
	}

	// Someone deletes it in the console.
	f.DeleteCallbackConfig()
	eventually(t, app, "the configuration is set again", func() bool {
		cfg, ok := f.CallbackConfig()
		return ok && cfg.URL == ourCallbackURL && sameCommands(cfg.Commands, everyCommand) && registeredNow(app)
	})
}

func TestCallbackRegistrationRemovedLeavesTencentAsItIs(t *testing.T) {
	f, id := newFake(t)
	app := callbackApp(t, f, id, chatv1alpha1.CallbackRegistration{URL: ourCallbackURL, Commands: []string{tencent.CommandAfterDestroyRoom}}, time.Hour)
	eventually(t, app, "the registration is reported", func() bool { return registeredNow(app) })
	before, _ := f.CallbackConfig()
	writes := configWrites(f)

	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.CallbackRegistration = nil
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, "status and condition go", func() bool {
		return app.Status.CallbackRegistration == nil && callbackCondition(app) == "" && app.Status.ObservedGeneration == app.Generation
	})
	if cfg, ok := f.CallbackConfig(); !ok || cfg.URL != before.URL || !slices.Equal(cfg.Commands, before.Commands) || configWrites(f) != writes {
		t.Errorf("Tencent has %+v (%v) after the field went, want %+v untouched", cfg, ok, before)
	}
	if res := health(t, app); res.Status != kstatus.CurrentStatus {
		t.Errorf("kstatus %s (%s), want Current", res.Status, res.Message)
	}
}

func TestCallbackRegistrationReadsTheOlderSpellingAsTheSame(t *testing.T) {
	f, id := newFake(t)
	// As Tencent's get_callback sample lists it.
	old := []string{
		tencent.CommandAfterCreateRoom, tencent.CommandAfterDestroyRoom, tencent.CommandUpdateRoomInfo,
		tencent.CommandAfterMemberEnter, tencent.CommandAfterMemberLeave, tencent.CommandAfterSeatInfoChanged,
	}
	f.SetCallbackConfig(tencent.CallbackConfig{URL: ourCallbackURL, Commands: old})
	app := callbackApp(t, f, id, chatv1alpha1.CallbackRegistration{URL: ourCallbackURL}, time.Hour)

	eventually(t, app, "the registration is reported", func() bool { return registeredNow(app) })
	if st := app.Status.CallbackRegistration; !slices.Equal(st.Commands, old) {
		t.Errorf("status commands %v, want Tencent's %v", st.Commands, old)
	}
	if n := configWrites(f); n != 0 {
		t.Errorf("%d writes to a configuration that matched", n)
	}
}

// TestCallbackRegistrationReadsAnAnswerWithoutURLAsNone: Tencent does not
// document what get_callback answers for an app without a callback
// configuration. An OK answer without a Response, or with an empty Url,
// means none, as FAIL 100301 does: roomsync sets its URL rather than stop
// at RESTAPIBadAnswer.
func TestCallbackRegistrationReadsAnAnswerWithoutURLAsNone(t *testing.T) {
	for _, sample := range []string{"response-no-response.json", "response-empty-url.json"} {
		t.Run(sample, func(t *testing.T) {
			f, id := newFake(t)
			f.SetNoCallbackAnswer(tencenttest.Sample(tencent.ServiceConfig+"."+tencent.CommandGetCallback, sample))
			app := callbackApp(t, f, id, chatv1alpha1.CallbackRegistration{URL: ourCallbackURL}, time.Hour)

			eventually(t, app, "the registration is reported", func() bool { return registeredNow(app) })
			cfg, ok := f.CallbackConfig()
			if !ok || cfg.URL != ourCallbackURL || !sameCommands(cfg.Commands, everyCommand) {
				t.Fatalf("Tencent has %+v (%v), want %s with every command roomsync handles", cfg, ok, ourCallbackURL)
			}
			for _, r := range f.Requests("") {
				if r.Command == tencent.ServiceConfig+"."+tencent.CommandUpdateCallback {
					t.Errorf("update_callback was called: the app had no configuration to update")
				}
			}
			e := waitForEventAbout(t, app.Namespace, "ChatApp", app.Name, chatv1alpha1.CallbackRegisteredEvent)
			if e.Type != corev1.EventTypeNormal || !strings.Contains(e.Note, ourCallbackURL) {
				t.Errorf("Event %s %q", e.Type, e.Note)
			}
		})
	}
}
