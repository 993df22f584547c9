package controllers

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// Most Room updates are callbacks changing what the Room says of its room
// (name, members, seats, when it last heard). The controllers decide from a
// few fields only; these predicates let through the updates that change
// one of them, so that a busy room does not cost a reconcile per callback.
// Creations and deletions always pass.

// chatAppSpecChanged passes the ChatApp updates that change its spec. A
// ChatApp's status changes often (the receiver's lastCallbackTime, each
// resync pass), and the controllers that bring back every Room of a ChatApp
// on its change decide from its spec only: with 100,000 Rooms, letting its
// status changes through would reconcile them all every few seconds.
var chatAppSpecChanged = predicate.GenerationChangedPredicate{}

// chatAppInputsChanged passes the ChatApp updates that may change its
// conditions: all but those of the receiver's status.lastCallbackTime and
// of a resync pass's progress (its failure and catch-up do count), which
// come every few seconds; each reconcile counts the app's Rooms.
var chatAppInputsChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	old, okOld := e.ObjectOld.(*chatv1alpha1.ChatApp)
	cur, okCur := e.ObjectNew.(*chatv1alpha1.ChatApp)
	if !okOld || !okCur {
		return true
	}
	return old.Generation != cur.Generation || !equality.Semantic.DeepEqual(old.Annotations, cur.Annotations) ||
		!equality.Semantic.DeepEqual(withoutProgress(old.Status), withoutProgress(cur.Status))
}}

// withoutProgress is st without what changes with every callback and pass.
func withoutProgress(st chatv1alpha1.ChatAppStatus) chatv1alpha1.ChatAppStatus {
	st.LastCallbackTime = nil
	if r := st.Resync; r != nil {
		st.Resync = &chatv1alpha1.ChatAppResync{Failure: r.Failure, CatchUp: r.CatchUp}
	}
	return st
}

// roomConditionsInputsChanged passes the updates that may change a Room's
// conditions or its retention (see roomConditions and room_retention.go).
var roomConditionsInputsChanged = roomUpdate(func(old, cur *chatv1alpha1.Room) bool {
	return old.Generation != cur.Generation ||
		!cur.DeletionTimestamp.IsZero() ||
		old.Status.Phase != cur.Status.Phase ||
		!equality.Semantic.DeepEqual(old.Status.Destroyed, cur.Status.Destroyed) ||
		(old.Status.LastEventTime == 0) != (cur.Status.LastEventTime == 0) ||
		old.Status.ObservedGeneration != cur.Status.ObservedGeneration ||
		!equality.Semantic.DeepEqual(old.Status.Conditions, cur.Status.Conditions) ||
		!equality.Semantic.DeepEqual(old.Status.Management, cur.Status.Management) ||
		(cur.Spec.Settings != nil && diffSettings(old.Spec.Settings, &old.Status).String() != diffSettings(cur.Spec.Settings, &cur.Status).String())
})

// recordingInputsChanged passes the updates that may change what the
// recording controller does (see wantsRecording and planRecording).
var recordingInputsChanged = roomUpdate(func(old, cur *chatv1alpha1.Room) bool {
	return old.Generation != cur.Generation ||
		!cur.DeletionTimestamp.IsZero() ||
		old.Status.Phase != cur.Status.Phase ||
		!equality.Semantic.DeepEqual(old.Status.CloudRecordingDisabled, cur.Status.CloudRecordingDisabled) ||
		old.Status.CloudRecordingEnabledTime != cur.Status.CloudRecordingEnabledTime ||
		!equality.Semantic.DeepEqual(old.Status.Recording, cur.Status.Recording) ||
		!equality.Semantic.DeepEqual(old.Status.Conditions, cur.Status.Conditions)
})

// roomUpdate is a predicate that passes creations, deletions and generic
// events, and the updates of Rooms for which changed says so.
func roomUpdate(changed func(old, cur *chatv1alpha1.Room) bool) predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*chatv1alpha1.Room)
		cur, okCur := e.ObjectNew.(*chatv1alpha1.Room)
		return !okOld || !okCur || changed(old, cur)
	}}
}
