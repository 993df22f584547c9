package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
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
		{name: "duplicate that had room info before", room: room("b", 5), holder: room("a", 5), ready: metav1.ConditionFalse, reason: chatv1alpha1.DuplicateRoomIDReason, stalled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conds := roomConditions(tc.room, tc.holder)
			checkConditions(t, conds, tc.ready, tc.reason, tc.stalled, tc.room.Generation)
		})
	}
}

func TestChatAppConditions(t *testing.T) {
	app := func(uid string, auth bool) *chatv1alpha1.ChatApp {
		a := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: uid, UID: types.UID(uid), Generation: 2}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: 7}}
		if auth {
			a.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.SecretKeyReference{Name: "s"}}
		}
		return a
	}
	for _, tc := range []struct {
		name        string
		app, holder *chatv1alpha1.ChatApp
		tokenErr    error
		ready       metav1.ConditionStatus
		reason      string
		stalled     bool
		message     string
	}{
		{name: "no auth", app: app("a", false), holder: app("a", false), ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason, message: "without authentication"},
		{name: "auth with a readable token", app: app("a", true), holder: app("a", true), ready: metav1.ConditionTrue, reason: chatv1alpha1.AcceptingCallbacksReason, message: "Secret s"},
		{name: "token Secret missing", app: app("a", true), holder: app("a", true), tokenErr: fmt.Errorf("%w: Secret ns/s does not exist", lookup.ErrTokenSecretNotFound),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.TokenSecretNotFoundReason, stalled: true, message: "ns/s"},
		{name: "token key missing", app: app("a", true), holder: app("a", true), tokenErr: fmt.Errorf("%w: no key", lookup.ErrTokenKeyNotFound),
			ready: metav1.ConditionFalse, reason: chatv1alpha1.TokenKeyNotFoundReason, stalled: true},
		{name: "younger claimant", app: app("b", false), holder: app("a", false), ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true, message: "ns/a"},
		{name: "conflict outranks a missing Secret", app: app("b", true), holder: app("a", false), tokenErr: lookup.ErrTokenSecretNotFound,
			ready: metav1.ConditionFalse, reason: chatv1alpha1.SDKAppIDConflictReason, stalled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conds := chatAppConditions(tc.app, tc.holder, tc.tokenErr)
			checkConditions(t, conds, tc.ready, tc.reason, tc.stalled, tc.app.Generation)
			if msg := meta.FindStatusCondition(conds, chatv1alpha1.ReadyCondition).Message; !strings.Contains(msg, tc.message) {
				t.Errorf("Ready message %q does not mention %q", msg, tc.message)
			}
		})
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
