package controllers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/tencent"
)

func TestRoomConditions(t *testing.T) {
	room := func(uid string, lastEventTime int64) *chatv1alpha1.Room {
		return &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID(uid), Generation: 3},
			Spec:       chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: "r"},
			Status:     chatv1alpha1.RoomStatus{LastEventTime: lastEventTime},
		}
	}
	for _, tc := range []struct {
		name         string
		room, holder *chatv1alpha1.Room
		ready        metav1.ConditionStatus
		reason       string
		stalled      bool
	}{
		{name: "awaiting room info", room: room("a", 0), holder: room("a", 0), ready: metav1.ConditionFalse, reason: chatv1alpha1.AwaitingRoomInfoReason},
		{name: "not in the cache's index yet", room: room("a", 0), holder: nil, ready: metav1.ConditionFalse, reason: chatv1alpha1.AwaitingRoomInfoReason},
		{name: "room info received", room: room("a", 5), holder: room("a", 5), ready: metav1.ConditionTrue, reason: chatv1alpha1.RoomInfoReceivedReason},
		{name: "younger duplicate", room: room("b", 0), holder: room("a", 5), ready: metav1.ConditionFalse, reason: chatv1alpha1.DuplicateRoomIDReason, stalled: true},
		{name: "destroyed", room: destroyedRoom("a"), holder: destroyedRoom("a"), ready: metav1.ConditionTrue, reason: chatv1alpha1.RoomDestroyedReason},
		{name: "duplicate that had room info before", room: room("b", 5), holder: room("a", 5), ready: metav1.ConditionFalse, reason: chatv1alpha1.DuplicateRoomIDReason, stalled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conds := roomConditions(tc.room, tc.holder)
			checkConditions(t, conds, tc.ready, tc.reason, tc.stalled, tc.room.Generation)
		})
	}
}

func destroyedRoom(uid string) *chatv1alpha1.Room {
	r := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID(uid), Generation: 3}}
	r.Status.LastEventTime = 5
	r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
	r.Status.Destroyed = &chatv1alpha1.RoomDestroy{EventTime: 6, Operator: "admin"}
	return r
}

func TestChatAppConditions(t *testing.T) {
	app := func(uid string, auth bool) *chatv1alpha1.ChatApp {
		a := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: uid, UID: types.UID(uid), Generation: 2}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: 7}}
		if auth {
			a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: "s"}}
		}
		return a
	}
	// claim is app's claim, with token "t" when it has callbackAuth.
	claim := func(a *chatv1alpha1.ChatApp) *lookup.Claim {
		c := &lookup.Claim{App: a}
		if a.Spec.CallbackAuth != nil {
			c.Tokens = []string{"t"}
		}
		return c
	}
	elsewhere := func(uid string, auth bool) *chatv1alpha1.ChatApp {
		a := app(uid, auth)
		a.Namespace = "tenant-b"
		return a
	}
	resyncFailed := func(reason string) *chatv1alpha1.ChatApp {
		a := app("a", false)
		a.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Endpoint: "https://example.com"}
		a.Status.Resync = &chatv1alpha1.ChatAppResync{Failure: &chatv1alpha1.ResyncFailure{Reason: reason, Message: "get_room_info: ErrorCode 70009"}}
		return a
	}
	// registering has spec.callbackRegistration for every command; st is
	// what status.callbackRegistration says (nil: nothing yet).
	registering := func(st *chatv1alpha1.CallbackRegistrationStatus) *chatv1alpha1.ChatApp {
		a := app("a", false)
		a.Spec.RestAPI = &chatv1alpha1.RestAPISpec{Endpoint: "https://example.com"}
		a.Spec.CallbackRegistration = &chatv1alpha1.CallbackRegistration{URL: "https://us.example/cb"}
		a.Status.CallbackRegistration = st
		return a
	}
	reported := func(reason, url string, gen int64, commands ...string) *chatv1alpha1.CallbackRegistrationStatus {
		return &chatv1alpha1.CallbackRegistrationStatus{URL: url, Commands: commands, Reason: reason, Message: "ErrorCode 70009: bad sig", ObservedGeneration: gen}
	}
	every := []string{
		tencent.CommandAfterCreateRoom, tencent.CommandUpdateRoomInfo, tencent.CommandAfterDestroyRoom,
		tencent.CommandAfterMemberEnter, tencent.CommandAfterMemberLeave, tencent.CommandAfterSeatInfoChanged,
	}
	for _, tc := range []struct {
		name string
		app  *chatv1alpha1.ChatApp
		// shadow is the claim that takes app's callbacks, if any.
		shadow *lookup.Claim
		// signedOnly: --allow-unsigned-callbacks is off.
		signedOnly bool
		tokenErr   error
		ready      metav1.ConditionStatus
		reason     string
		stalled    bool
		message    string
		// notMessage must not be in the Ready message.
		notMessage string
		// callback is CallbackRegistered's "Status/Reason" ("" when absent),
		// callbackMessage a part of its message; reconciling whether
		// Reconciling is True.
		callback, callbackMessage string
		reconciling               bool
	}{
		{name: "no auth", app: app("a", false), ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason, message: "WITHOUT authentication"},
		{name: "auth with a readable token", app: app("a", true), ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason, message: "Secret s"},
		{name: "token Secret missing", app: app("a", true), tokenErr: fmt.Errorf("%w: Secret ns/s does not exist", lookup.ErrTokenSecretNotFound),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.TokenSecretNotFoundReason, stalled: true, message: "ns/s"},
		{name: "token key missing", app: app("a", true), tokenErr: fmt.Errorf("%w: no key", lookup.ErrTokenKeyNotFound),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.TokenKeyNotFoundReason, stalled: true},
		{name: "younger unsigned claimant", app: app("b", false), shadow: claim(app("a", false)), ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true, message: "ChatApp a"},
		{name: "unsigned claimant beside a signed one", app: app("b", false), shadow: claim(app("a", true)),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true, message: "Set spec.callbackAuth"},
		{name: "same token held in another namespace: not named", app: app("b", true), shadow: claim(elsewhere("a", true)),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true, message: "a ChatApp in another namespace", notMessage: "tenant-b"},
		{name: "no auth while unsigned callbacks are not allowed", app: app("a", false), signedOnly: true,
			ready: metav1.ConditionFalse, reason: chatv1alpha1.CallbackAuthRequiredReason, stalled: true, message: "kubectl create secret generic chat-callback -n ns"},
		{name: "auth while unsigned callbacks are not allowed", app: app("a", true), signedOnly: true, ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason, message: "Secret s"},
		{name: "missing auth outranks a conflict", app: app("b", false), shadow: claim(app("a", true)), signedOnly: true,
			ready: metav1.ConditionFalse, reason: chatv1alpha1.CallbackAuthRequiredReason, stalled: true},
		{name: "REST credentials rejected", app: resyncFailed(chatv1alpha1.RESTAPICredentialsRejectedReason),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.RESTAPICredentialsRejectedReason, stalled: true, message: "70009"},
		{name: "REST answer not as documented: not Stalled", app: resyncFailed(chatv1alpha1.RESTAPIBadAnswerReason),
			ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason, message: "WITHOUT authentication"},
		{name: "conflict outranks a missing Secret", app: app("b", true), shadow: claim(app("a", true)), tokenErr: lookup.ErrTokenSecretNotFound,
			ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true},

		{name: "callback registration not checked yet", app: registering(nil),
			ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason,
			callback: "Unknown/" + CallbackCheckPendingReason, reconciling: true},
		{name: "callback registration checked for an older generation", app: registering(reported(chatv1alpha1.CallbackURLTakenReason, "https://them.example/cb", 1)),
			ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason,
			callback: "Unknown/" + CallbackCheckPendingReason, reconciling: true},
		{name: "callback registered, older spelling", app: registering(reported(chatv1alpha1.CallbackRegisteredReason, "https://us.example/cb", 2, every...)),
			ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason,
			callback: "True/" + chatv1alpha1.CallbackRegisteredReason, callbackMessage: "https://us.example/cb"},
		{name: "callback URL taken", app: registering(reported(chatv1alpha1.CallbackURLTakenReason, "https://them.example/cb", 2, every...)),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.CallbackURLTakenReason, stalled: true, message: "takeOver",
			callback: "False/" + chatv1alpha1.CallbackURLTakenReason, callbackMessage: "https://them.example/cb"},
		{name: "callback registration with rejected credentials", app: registering(reported(chatv1alpha1.RESTAPICredentialsRejectedReason, "", 2)),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.RESTAPICredentialsRejectedReason, stalled: true, message: "70009",
			callback: "False/" + chatv1alpha1.RESTAPICredentialsRejectedReason, callbackMessage: "70009"},
		{name: "Tencent unavailable: not Stalled", app: registering(reported(chatv1alpha1.TencentUnavailableReason, "https://us.example/cb", 2, every...)),
			ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason,
			callback: "False/" + chatv1alpha1.TencentUnavailableReason, callbackMessage: "backoff"},
		{name: "Tencent rejected the configuration: not Stalled", app: registering(reported(chatv1alpha1.TencentRejectedReason, "", 2)),
			ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason,
			callback: "False/" + chatv1alpha1.TencentRejectedReason, callbackMessage: "ErrorCode"},
		{name: "a conflict outranks the callback registration", app: registering(nil), shadow: claim(app("b", false)),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true,
			callback: "Unknown/" + CallbackCheckPendingReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conds := chatAppConditions(tc.app, tc.shadow, tc.tokenErr, !tc.signedOnly)
			if got := meta.IsStatusConditionTrue(conds, chatv1alpha1.ReconcilingCondition); got != tc.reconciling {
				t.Errorf("Reconciling = %v, want %v", got, tc.reconciling)
			}
			meta.RemoveStatusCondition(&conds, chatv1alpha1.ReconcilingCondition)
			checkConditions(t, conds, tc.ready, tc.reason, tc.stalled, tc.app.Generation)
			msg := meta.FindStatusCondition(conds, chatv1alpha1.ReadyCondition).Message
			if !strings.Contains(msg, tc.message) {
				t.Errorf("Ready message %q does not mention %q", msg, tc.message)
			}
			if tc.notMessage != "" && strings.Contains(msg, tc.notMessage) {
				t.Errorf("Ready message %q mentions %q", msg, tc.notMessage)
			}
			c := meta.FindStatusCondition(conds, chatv1alpha1.CallbackRegisteredCondition)
			switch {
			case c == nil && tc.callback != "":
				t.Errorf("no CallbackRegistered, want %s", tc.callback)
			case c != nil && string(c.Status)+"/"+c.Reason != tc.callback:
				t.Errorf("CallbackRegistered = %s/%s, want %q", c.Status, c.Reason, tc.callback)
			case c != nil && (c.Message == "" || !strings.Contains(c.Message, tc.callbackMessage) || c.ObservedGeneration != tc.app.Generation):
				t.Errorf("CallbackRegistered message %q (generation %d) does not mention %q", c.Message, c.ObservedGeneration, tc.callbackMessage)
			}
		})
	}
}

func TestPlanCallback(t *testing.T) {
	const ours, theirs = "https://us.example/cb", "https://them.example/cb"
	every := []string{
		tencent.CommandAfterSeatInfoChanged, tencent.CommandAfterCreateRoom, tencent.CommandAfterUpdateRoomInfo,
		tencent.CommandAfterDestroyRoom, tencent.CommandAfterMemberEnter, tencent.CommandAfterMemberLeave,
	}
	everyOld := slices.Clone(every)
	everyOld[2] = tencent.CommandUpdateRoomInfo
	spec := func(takeOver bool, commands ...string) *chatv1alpha1.CallbackRegistration {
		return &chatv1alpha1.CallbackRegistration{URL: ours, Commands: commands, TakeOver: takeOver}
	}
	cfg := func(url string, commands ...string) tencent.CallbackConfig {
		return tencent.CallbackConfig{URL: url, Commands: commands}
	}
	for _, tc := range []struct {
		name  string
		spec  *chatv1alpha1.CallbackRegistration
		have  tencent.CallbackConfig
		found bool
		want  callbackAction
	}{
		{name: "none in Tencent", spec: spec(false), want: callbackSet},
		{name: "ours, every command, in another order", spec: spec(false), have: cfg(ours, every...), found: true, want: callbackNothing},
		{name: "ours, with the older spelling", spec: spec(false), have: cfg(ours, everyOld...), found: true, want: callbackNothing},
		{name: "ours, both spellings listed", spec: spec(false), have: cfg(ours, append(slices.Clone(every), tencent.CommandUpdateRoomInfo)...), found: true, want: callbackNothing},
		{name: "spec in the older spelling", spec: spec(false, tencent.CommandUpdateRoomInfo), have: cfg(ours, tencent.CommandAfterUpdateRoomInfo), found: true, want: callbackNothing},
		{name: "ours, a command missing", spec: spec(false), have: cfg(ours, every[1:]...), found: true, want: callbackUpdate},
		{name: "ours, a command too many", spec: spec(false, tencent.CommandAfterCreateRoom), have: cfg(ours, every...), found: true, want: callbackUpdate},
		{name: "ours, no commands", spec: spec(false), have: cfg(ours), found: true, want: callbackUpdate},
		{name: "a configuration without a URL", spec: spec(false), have: cfg("", every...), found: true, want: callbackUpdate},
		{name: "another URL", spec: spec(false), have: cfg(theirs, every...), found: true, want: callbackRefuse},
		{name: "our URL but for a trailing slash is another", spec: spec(false), have: cfg(ours+"/", every...), found: true, want: callbackRefuse},
		{name: "another URL, takeOver", spec: spec(true), have: cfg(theirs, every...), found: true, want: callbackUpdate},
		{name: "ours, takeOver, nothing to take", spec: spec(true), have: cfg(ours, every...), found: true, want: callbackNothing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planCallback(tc.spec, tc.have, tc.found); got != tc.want {
				t.Errorf("planCallback = %d, want %d", got, tc.want)
			}
		})
	}
	if got := wantedCommands(spec(false)); !slices.Equal(got, defaultCallbackCommands) || slices.Contains(got, tencent.CommandUpdateRoomInfo) {
		t.Errorf("default commands %v", got)
	}
	if got := wantedCommands(spec(false, tencent.CommandUpdateRoomInfo, tencent.CommandAfterUpdateRoomInfo, tencent.CommandAfterCreateRoom)); !slices.Equal(got, []string{tencent.CommandUpdateRoomInfo, tencent.CommandAfterCreateRoom}) {
		t.Errorf("commands sent for a spec with both spellings: %v", got)
	}
}

func TestCallbackWriteEvent(t *testing.T) {
	const ours, theirs = "https://us.example/cb", "https://them.example/cb"
	spec := &chatv1alpha1.CallbackRegistration{URL: ours}
	registered := &chatv1alpha1.CallbackRegistrationStatus{URL: ours, Commands: defaultCallbackCommands, Reason: chatv1alpha1.CallbackRegisteredReason}
	otherCommands := &chatv1alpha1.CallbackRegistrationStatus{URL: ours, Commands: []string{tencent.CommandAfterCreateRoom}, Reason: chatv1alpha1.CallbackRegisteredReason}
	taken := &chatv1alpha1.CallbackRegistrationStatus{URL: theirs, Reason: chatv1alpha1.CallbackURLTakenReason}
	unavailable := &chatv1alpha1.CallbackRegistrationStatus{URL: ours, Commands: defaultCallbackCommands, Reason: chatv1alpha1.TencentUnavailableReason}
	console := tencent.CallbackConfig{URL: ours, Commands: []string{tencent.CommandAfterCreateRoom}}
	for _, tc := range []struct {
		name   string
		before *chatv1alpha1.CallbackRegistrationStatus
		have   tencent.CallbackConfig
		found  bool
		want   string
		note   string
	}{
		{name: "first registration", want: chatv1alpha1.CallbackRegisteredEvent, note: ours},
		{name: "commands changed in the console", before: registered, have: console, found: true, want: chatv1alpha1.CallbackRestoredEvent, note: "outside roomsync"},
		{name: "deleted in the console", before: registered, want: chatv1alpha1.CallbackRestoredEvent, note: "no configuration"},
		{name: "the spec's commands changed", before: otherCommands, have: console, found: true, want: chatv1alpha1.CallbackRegisteredEvent},
		{name: "taken over", before: taken, have: tencent.CallbackConfig{URL: theirs}, found: true, want: chatv1alpha1.CallbackRegisteredEvent, note: "replacing " + theirs},
		{name: "after a failed check, not known to have been ours", before: unavailable, have: console, found: true, want: chatv1alpha1.CallbackRegisteredEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, note := callbackWriteEvent(spec, tc.before, tc.have, tc.found)
			if reason != tc.want || !strings.Contains(note, tc.note) {
				t.Errorf("Event %s %q, want %s mentioning %q", reason, note, tc.want, tc.note)
			}
		})
	}
	if callbackRefusalEvent(nil, theirs) == "" || callbackRefusalEvent(taken, theirs) != "" || callbackRefusalEvent(taken, "https://third.example/cb") == "" {
		t.Error("a refusal is not warned of once per URL")
	}
}

func TestCallbackFailed(t *testing.T) {
	for _, tc := range []struct {
		err    error
		reason string
		retry  bool
	}{
		{err: fmt.Errorf("%w: Secret ns/s does not exist", lookup.ErrSecretKeyNotFound), reason: chatv1alpha1.SecretKeyNotFoundReason},
		{err: &tencent.APIError{Command: "get_callback", Code: 70009, Info: "bad sig"}, reason: chatv1alpha1.RESTAPICredentialsRejectedReason},
		{err: &tencent.BadAnswerError{Command: "get_callback", Why: "no Response.Url"}, reason: chatv1alpha1.RESTAPIBadAnswerReason},
		{err: &tencent.APIError{Command: "set_callback", Code: 100002, Info: "invalid Url"}, reason: chatv1alpha1.TencentRejectedReason},
		{err: &tencent.APIError{Command: "set_callback", Code: tencent.CodeInternalError, Info: "internal"}, reason: chatv1alpha1.TencentUnavailableReason, retry: true},
		{err: errors.New("get_callback: dial tcp: connection refused"), reason: chatv1alpha1.TencentUnavailableReason, retry: true},
	} {
		res, err := callbackFailed(fmt.Errorf("wrapped: %w", tc.err))
		if res.reason != tc.reason || (err != nil) != tc.retry || !strings.Contains(res.message, tc.err.Error()) {
			t.Errorf("%v: reason %s, error %v, message %q; want %s, retry %v", tc.err, res.reason, err, res.message, tc.reason, tc.retry)
		}
	}
}

func checkConditions(t *testing.T, conds []metav1.Condition, ready metav1.ConditionStatus, reason string, stalled bool, gen int64) {
	t.Helper()
	r := meta.FindStatusCondition(conds, chatv1alpha1.ReadyCondition)
	if r == nil || r.Status != ready || r.Reason != reason || r.ObservedGeneration != gen || r.Message == "" {
		t.Fatalf("Ready = %+v, want %s/%s at generation %d with a message", r, ready, reason, gen)
	}
	if got := meta.IsStatusConditionTrue(conds, chatv1alpha1.StalledCondition); got != stalled {
		t.Errorf("Stalled = %v, want %v", got, stalled)
	}
	if meta.FindStatusCondition(conds, chatv1alpha1.ReconcilingCondition) != nil {
		t.Error("Reconciling set: nothing here waits on roomsync's own work")
	}
}

func TestMergeConditions(t *testing.T) {
	old := metav1.NewTime(time.Unix(1000, 0))
	ready := func(status metav1.ConditionStatus, msg string, at metav1.Time) metav1.Condition {
		return metav1.Condition{Type: "Ready", Status: status, Reason: "R", Message: msg, ObservedGeneration: 1, LastTransitionTime: at}
	}
	foreign := metav1.Condition{Type: "Recording", Status: metav1.ConditionTrue, Reason: "X", LastTransitionTime: old}

	t.Run("same status keeps the transition time and needs no write", func(t *testing.T) {
		merged, changed := mergeConditions([]metav1.Condition{ready("True", "m", old), foreign}, []string{"Ready", "Stalled"}, []metav1.Condition{ready("True", "m", metav1.Now())})
		if changed || len(merged) != 1 || !merged[0].LastTransitionTime.Equal(&old) {
			t.Fatalf("merged %+v changed %v", merged, changed)
		}
	})
	t.Run("a new message is a change but not a transition", func(t *testing.T) {
		merged, changed := mergeConditions([]metav1.Condition{ready("True", "m", old)}, []string{"Ready"}, []metav1.Condition{ready("True", "other", metav1.Now())})
		if !changed || !merged[0].LastTransitionTime.Equal(&old) {
			t.Fatalf("merged %+v changed %v", merged, changed)
		}
	})
	t.Run("a new status transitions", func(t *testing.T) {
		now := metav1.Now()
		merged, changed := mergeConditions([]metav1.Condition{ready("False", "m", old)}, []string{"Ready"}, []metav1.Condition{ready("True", "m", now)})
		if !changed || merged[0].LastTransitionTime.Equal(&old) {
			t.Fatalf("merged %+v changed %v", merged, changed)
		}
	})
	t.Run("an owned condition no longer desired is dropped", func(t *testing.T) {
		stalled := metav1.Condition{Type: "Stalled", Status: "True", Reason: "R", LastTransitionTime: old}
		merged, changed := mergeConditions([]metav1.Condition{ready("False", "m", old), stalled}, []string{"Ready", "Stalled"}, []metav1.Condition{ready("False", "m", old)})
		if !changed || len(merged) != 1 {
			t.Fatalf("merged %+v changed %v", merged, changed)
		}
	})
}

func TestRetentionDue(t *testing.T) {
	received := metav1.NewTime(time.Unix(1000, 0))
	room := func(createdBy string, phase chatv1alpha1.RoomPhase) *chatv1alpha1.Room {
		r := &chatv1alpha1.Room{}
		r.Labels = map[string]string{}
		if createdBy != "" {
			r.Labels[chatv1alpha1.CreatedByLabel] = createdBy
		}
		r.Status.Phase = phase
		if phase == chatv1alpha1.RoomPhaseDestroyed {
			r.Status.Destroyed = &chatv1alpha1.RoomDestroy{EventTime: 1, ReceivedTime: received}
		}
		return r
	}
	app := func(retention *time.Duration) *chatv1alpha1.ChatApp {
		a := &chatv1alpha1.ChatApp{}
		if retention != nil {
			a.Spec.RoomRetention = &metav1.Duration{Duration: *retention}
		}
		return a
	}
	hour, zero := time.Hour, time.Duration(0)
	for _, tc := range []struct {
		name string
		room *chatv1alpha1.Room
		app  *chatv1alpha1.ChatApp
		due  time.Duration // after received; 0 = not due at all
	}{
		{name: "created by a callback, default retention", room: room(chatv1alpha1.CreatedByCallback, chatv1alpha1.RoomPhaseDestroyed), app: app(nil), due: 24 * time.Hour},
		{name: "created by a callback, 1h", room: room(chatv1alpha1.CreatedByCallback, chatv1alpha1.RoomPhaseDestroyed), app: app(&hour), due: time.Hour},
		{name: "retention 0 keeps", room: room(chatv1alpha1.CreatedByCallback, chatv1alpha1.RoomPhaseDestroyed), app: app(&zero)},
		{name: "declared by a user", room: room("", chatv1alpha1.RoomPhaseDestroyed), app: app(&hour)},
		{name: "not destroyed", room: room(chatv1alpha1.CreatedByCallback, chatv1alpha1.RoomPhaseActive), app: app(&hour)},
		{name: "no ChatApp", room: room(chatv1alpha1.CreatedByCallback, chatv1alpha1.RoomPhaseDestroyed), app: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, ok := retentionDue(tc.room, tc.app)
			if ok != (tc.due != 0) || (ok && !due.Equal(received.Add(tc.due))) {
				t.Fatalf("due %v %v, want %v after %v", due, ok, tc.due, received.Time)
			}
		})
	}
}

func TestRecordDeletion(t *testing.T) {
	at := func(s int64) metav1.Time { return metav1.NewTime(time.Unix(s, 0)) }
	var records []chatv1alpha1.DeletedRoom
	for i := range maxDeletedRooms + 5 {
		records = recordDeletion(records, chatv1alpha1.DeletedRoom{RoomID: fmt.Sprint("r", i), DestroyEventTime: int64(i), DeletedTime: at(int64(i))})
	}
	if len(records) != maxDeletedRooms || records[0].RoomID != fmt.Sprint("r", maxDeletedRooms+4) || records[len(records)-1].RoomID != "r5" {
		t.Fatalf("%d records from %s to %s: want the newest %d", len(records), records[0].RoomID, records[len(records)-1].RoomID, maxDeletedRooms)
	}
	records = recordDeletion(records, chatv1alpha1.DeletedRoom{RoomID: "r500", DestroyEventTime: 9999, DeletedTime: at(99999)})
	n := 0
	for _, r := range records {
		if r.RoomID == "r500" {
			n++
			if r.DestroyEventTime != 9999 {
				t.Errorf("a room deleted again keeps its old record: %+v", r)
			}
		}
	}
	if n != 1 {
		t.Errorf("room r500 recorded %d times", n)
	}
}
