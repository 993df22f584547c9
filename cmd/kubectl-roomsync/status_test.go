package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with what the code prints")

// now is the fixed clock of the golden files.
var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func cond(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: at(10 * time.Minute)}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func chatApp(ns, name string, id int64, mutate func(*chatv1alpha1.ChatApp)) chatv1alpha1.ChatApp {
	app := chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-app-" + ns + "-" + name), Generation: 1, CreationTimestamp: at(48 * time.Hour)},
		Spec: chatv1alpha1.ChatAppSpec{SDKAppID: id, CallbackAuth: &chatv1alpha1.CallbackAuth{
			TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "chat-callback", Key: "token"},
		}},
		Status: chatv1alpha1.ChatAppStatus{
			ObservedGeneration: 1,
			Conditions: []metav1.Condition{cond(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.AcceptingCallbacksReason,
				"Accepting callbacks")},
			LastCallbackTime: ptr.To(at(2 * time.Minute)),
		},
	}
	if mutate != nil {
		mutate(&app)
	}
	return app
}

func room(ns, name string, id int64, mutate func(*chatv1alpha1.Room)) chatv1alpha1.Room {
	r := chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-room-" + ns + "-" + name), Generation: 1, CreationTimestamp: at(3 * time.Hour),
			Labels: map[string]string{chatv1alpha1.CreatedByLabel: chatv1alpha1.CreatedByCallback}},
		Spec: chatv1alpha1.RoomSpec{SDKAppID: id, RoomID: name},
		Status: chatv1alpha1.RoomStatus{
			ObservedGeneration: 1, Phase: chatv1alpha1.RoomPhaseActive,
			Conditions: []metav1.Condition{cond(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.RoomInfoReceivedReason, "Room info received")},
		},
	}
	if mutate != nil {
		mutate(&r)
	}
	return r
}

func event(kind, ns, name, typ, reason, msg string, ago time.Duration) corev1.Event {
	return corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: ns, Name: name + "." + reason, CreationTimestamp: at(ago)},
		InvolvedObject:      corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name},
		Type:                typ,
		Reason:              reason,
		Message:             msg,
		EventTime:           metav1.NewMicroTime(now.Add(-ago)),
		ReportingController: "roomsync-spool",
	}
}

// healthyView is one ChatApp that resyncs, with Rooms that are all well.
func healthyView() view {
	app := chatApp("chat", "demo", 1400000001, func(a *chatv1alpha1.ChatApp) {
		a.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Administrator: "administrator"}
		a.Status.RoomCount = ptr.To[int64](3)
		a.Status.Resync = &chatv1alpha1.ChatAppResync{StartTime: ptr.To(at(6 * time.Minute)), CompletionTime: ptr.To(at(5 * time.Minute)),
			Rooms: 2, Checked: 2, Drifted: 1}
	})
	return view{
		apps: []chatv1alpha1.ChatApp{app},
		rooms: []chatv1alpha1.Room{
			room("chat", "rid-123", 1400000001, nil),
			room("chat", "standup", 1400000001, nil),
			room("chat", "old-one", 1400000001, func(r *chatv1alpha1.Room) {
				r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
				r.Status.Conditions = []metav1.Condition{cond(chatv1alpha1.ReadyCondition, metav1.ConditionTrue, chatv1alpha1.RoomDestroyedReason, "Room destroyed")}
			}),
		},
		replays: []corev1.Event{
			event("ChatApp", "chat", "demo", corev1.EventTypeNormal, spoolReplayedEvent,
				"Replayed 12 spooled callback(s) after the API server did not take them in time: 12 written, 0 stale, 0 for no Room, 0 dead-lettered; they waited up to 4.2s", 20*time.Minute),
		},
	}
}

// troubledView has a bit of everything that needs a human, and things
// under way.
func troubledView() view {
	v := healthyView()
	v.apps = append(v.apps,
		chatApp("chat", "copy", 1400000001, func(a *chatv1alpha1.ChatApp) {
			a.CreationTimestamp = at(time.Hour)
			msg := "sdkAppID 1400000001 is held by the older ChatApp chat/demo: its callbacks go there, not here"
			a.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.SDKAppIDConflictReason, msg),
				cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.SDKAppIDConflictReason, msg),
			}
			a.Status.LastCallbackTime = nil
		}),
		chatApp("conf", "conference", 1400000002, func(a *chatv1alpha1.ChatApp) {
			a.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Administrator: "administrator"}
			a.Spec.CallbackRegistration = &chatv1alpha1.CallbackRegistration{URL: "https://roomsync.example.com/callback"}
			a.Status.Conditions = append(a.Status.Conditions, cond(chatv1alpha1.CallbackRegisteredCondition, metav1.ConditionTrue,
				chatv1alpha1.CallbackRegisteredReason, "Tencent sends the app's callbacks to https://roomsync.example.com/callback"))
			a.Status.Resync = &chatv1alpha1.ChatAppResync{StartTime: ptr.To(at(90 * time.Second)), CompletionTime: ptr.To(at(time.Hour)),
				Rooms: 10000, Checked: 1800, Drifted: 3,
				Failure: &chatv1alpha1.ResyncFailure{Reason: chatv1alpha1.RESTAPIBadAnswerReason, Message: "get_room_info answered OK without Response.RoomInfo", Time: at(time.Hour)}}
		}),
	)
	v.rooms = append(v.rooms,
		room("chat", "recorder", 1400000001, func(r *chatv1alpha1.Room) {
			r.Status.Conditions = append(r.Status.Conditions, cond(chatv1alpha1.RecordingCondition, metav1.ConditionFalse,
				chatv1alpha1.RecordingFailedReason, "Job recorder-rec-2 of recording session 2 failed: BackoffLimitExceeded; it is not restarted"))
		}),
		room("conf", "board-meeting", 1400000002, func(r *chatv1alpha1.Room) {
			r.Labels = nil
			r.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementAll}
			msg := "room board-2026 exists in Tencent and this Room did not create it; set spec.adoptExisting to take it over"
			r.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.RoomAlreadyExistsReason, msg),
				cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.RoomAlreadyExistsReason, msg),
				cond(chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.RoomNotObservedReason, "the room has not been read yet"),
			}
		}),
		room("conf", "weekly", 1400000002, func(r *chatv1alpha1.Room) {
			r.Labels = nil
			r.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementObserve, chatv1alpha1.ManagementUpdate}
			r.Spec.Settings = &chatv1alpha1.RoomSettings{RoomName: ptr.To("Weekly")}
			msg := "roomName is \"Renamed\" in Tencent, \"Weekly\" here: changed back at the next resyncInterval"
			r.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.DriftRevertPendingReason, msg),
				cond(chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.DriftRevertPendingReason, msg),
			}
		}),
		room("conf", "new-room", 1400000002, func(r *chatv1alpha1.Room) {
			r.Labels = nil
			r.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementAll}
			r.Status.Phase = ""
			r.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.CreatingReason, "creating the room in Tencent"),
				cond(chatv1alpha1.ReconcilingCondition, metav1.ConditionTrue, chatv1alpha1.CreatingReason, "creating the room in Tencent"),
				cond(chatv1alpha1.SyncedCondition, metav1.ConditionFalse, chatv1alpha1.RoomNotObservedReason, "the room has not been read yet"),
			}
		}),
		room("conf", "lost", 1400000009, nil),
	)
	v.replays = append(v.replays,
		event("ChatApp", "conf", "conference", corev1.EventTypeWarning, spoolReplayedEvent,
			"Replayed 3 spooled callback(s) after the API server did not take them in time: 1 written, 0 stale, 0 for no Room, 2 dead-lettered; they waited up to 1m2s", 3*time.Minute),
		// Another ChatApp's Event does not count for this one.
		event("ChatApp", "other", "conference", corev1.EventTypeWarning, spoolReplayedEvent, "not this one", time.Minute),
	)
	return v
}

func TestStatusGolden(t *testing.T) {
	for name, tt := range map[string]struct {
		v          view
		ns         string
		needsHuman int
	}{
		"status-healthy.golden":  {v: healthyView(), ns: "chat", needsHuman: 0},
		"status-troubled.golden": {v: troubledView(), needsHuman: 4},
		"status-empty.golden":    {v: view{}, ns: "chat", needsHuman: 0},
	} {
		t.Run(name, func(t *testing.T) {
			r := evaluate(tt.v, now)
			if n := r.needsHuman(); n != tt.needsHuman {
				t.Errorf("%d things need a human, want %d", n, tt.needsHuman)
			}
			var out bytes.Buffer
			writeReport(&out, r, tt.ns)
			golden(t, name, out.Bytes())
		})
	}
}

// TestStatusJudgesEachObject: what makes status exit 1, and what does not.
func TestStatusJudgesEachObject(t *testing.T) {
	notReady := func(reason string) func(*chatv1alpha1.Room) {
		return func(r *chatv1alpha1.Room) {
			r.Status.Conditions = []metav1.Condition{cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, reason, "")}
		}
	}
	tests := []struct {
		name string
		room func(*chatv1alpha1.Room)
		app  func(*chatv1alpha1.ChatApp)
		want health
	}{
		{name: "all well", want: healthy},
		{name: "Room Stalled", want: needsHuman, room: func(r *chatv1alpha1.Room) {
			r.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.DuplicateRoomIDReason, ""),
				cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.DuplicateRoomIDReason, ""),
			}
		}},
		{name: "Room not Ready for no reason roomsync works on", want: needsHuman, room: notReady("SomethingElse")},
		{name: "Room awaiting its first callback", want: waiting, room: notReady(chatv1alpha1.AwaitingRoomInfoReason)},
		{name: "Room with a revert due", want: waiting, room: notReady(chatv1alpha1.DriftRevertPendingReason)},
		{name: "Room being created", want: waiting, room: func(r *chatv1alpha1.Room) {
			r.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.CreatingReason, ""),
				cond(chatv1alpha1.ReconcilingCondition, metav1.ConditionTrue, chatv1alpha1.CreatingReason, ""),
			}
		}},
		{name: "Room not looked at yet", want: waiting, room: func(r *chatv1alpha1.Room) {
			r.Status.ObservedGeneration, r.Status.Conditions = -1, nil
		}},
		{name: "Room whose recording failed", want: needsHuman, room: func(r *chatv1alpha1.Room) {
			r.Status.Conditions = append(r.Status.Conditions,
				cond(chatv1alpha1.RecordingCondition, metav1.ConditionFalse, chatv1alpha1.RecordingFailedReason, ""))
		}},
		{name: "Room whose recording stopped", want: healthy, room: func(r *chatv1alpha1.Room) {
			r.Status.Conditions = append(r.Status.Conditions,
				cond(chatv1alpha1.RecordingCondition, metav1.ConditionFalse, chatv1alpha1.RecordingStoppedReason, ""))
		}},
		{name: "ChatApp Stalled", want: needsHuman, app: func(a *chatv1alpha1.ChatApp) {
			a.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, chatv1alpha1.TokenSecretNotFoundReason, ""),
				cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, chatv1alpha1.TokenSecretNotFoundReason, ""),
			}
		}},
		{name: "ChatApp checking its callback URL", want: waiting, app: func(a *chatv1alpha1.ChatApp) {
			a.Status.Conditions = append(a.Status.Conditions,
				cond(chatv1alpha1.ReconcilingCondition, metav1.ConditionTrue, "CheckPending", ""))
		}},
		{name: "ChatApp with a newer generation", want: waiting, app: func(a *chatv1alpha1.ChatApp) { a.Generation = 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := view{
				apps:  []chatv1alpha1.ChatApp{chatApp("chat", "demo", 1, tt.app)},
				rooms: []chatv1alpha1.Room{room("chat", "r", 1, tt.room)},
			}
			r := evaluate(v, now)
			got := healthy
			for _, f := range r.apps[0].findings {
				got = max(got, f.health)
			}
			if got != tt.want {
				t.Errorf("health %d, want %d; findings %+v", got, tt.want, r.apps[0].findings)
			}
			if wantN := map[bool]int{true: 1, false: 0}[tt.want == needsHuman]; r.needsHuman() != wantN {
				t.Errorf("needsHuman() = %d, want %d", r.needsHuman(), wantN)
			}
		})
	}
}

// TestStatusDeadLetters: a Warning SpoolReplayed Event on a ChatApp (the
// replay dead-lettered callbacks) needs a human; a Normal one does not.
func TestStatusDeadLetters(t *testing.T) {
	for typ, want := range map[string]int{corev1.EventTypeNormal: 0, corev1.EventTypeWarning: 1} {
		v := view{
			apps:    []chatv1alpha1.ChatApp{chatApp("chat", "demo", 1, nil)},
			replays: []corev1.Event{event("ChatApp", "chat", "demo", typ, spoolReplayedEvent, "Replayed", time.Minute)},
		}
		if n := evaluate(v, now).needsHuman(); n != want {
			t.Errorf("a %s SpoolReplayed Event: %d things need a human, want %d", typ, n, want)
		}
	}
}

// TestCallbacksLineSaysWhenCallbacksAreRefused: a ChatApp that gets no
// callbacks says so, whatever the reason the operator gives.
func TestCallbacksLineSaysWhenCallbacksAreRefused(t *testing.T) {
	for _, reason := range []string{chatv1alpha1.CallbackAuthRequiredReason, chatv1alpha1.SDKAppIDConflictReason, chatv1alpha1.TokenSecretNotFoundReason} {
		app := chatApp("chat", "demo", 1, func(a *chatv1alpha1.ChatApp) {
			a.Spec.CallbackAuth = nil
			a.Status.Conditions = []metav1.Condition{
				cond(chatv1alpha1.ReadyCondition, metav1.ConditionFalse, reason, ""),
				cond(chatv1alpha1.StalledCondition, metav1.ConditionTrue, reason, ""),
			}
		})
		if got := callbacksLine(&app); got != "refused ("+reason+")" {
			t.Errorf("%s: %q", reason, got)
		}
	}
}
