package main

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// Reasons of Events that status reads. The operator writes them (see
// internal/roomstore/replay.go and controllers/resync.go).
const (
	// spoolReplayedEvent is on a ChatApp after its spooled callbacks were
	// replayed; a Warning one dead-lettered some.
	spoolReplayedEvent = "SpoolReplayed"
	// resyncFailedEvent and resyncUnavailableEvent say why a requested
	// resync did not read.
	resyncFailedEvent      = "ResyncFailed"
	resyncUnavailableEvent = "ResyncUnavailable"
)

// view is what status reads from the cluster: the ChatApps and Rooms in
// scope, and the Events it looks at.
type view struct {
	apps  []chatv1alpha1.ChatApp
	rooms []chatv1alpha1.Room
	// replays are the SpoolReplayed Events of the ChatApps.
	replays []corev1.Event
}

// health is how an object fares.
type health int

const (
	healthy health = iota
	// waiting: roomsync or Tencent is working on it (Reconciling, not
	// looked at yet, waiting for a first callback, a revert due at the next
	// interval).
	waiting
	// needsHuman: Stalled, or not Ready for no reason roomsync is working
	// on, a failed recording, dead-lettered callbacks.
	needsHuman
)

// finding is one thing status says about an object.
type finding struct {
	health health
	// what is the object ("ChatApp chat/demo", "Room chat/board").
	what string
	// reason and message say why.
	reason, message string
}

// appReport is what status says of one ChatApp.
type appReport struct {
	app *chatv1alpha1.ChatApp
	// callbacks says whether it accepts callbacks.
	callbacks string
	// rooms counts its Rooms by phase.
	rooms, active, destroyed int
	// resync says how the resyncs go ("" without spec.restAPI).
	resync string
	// replay is the newest SpoolReplayed Event, if any.
	replay *corev1.Event
	// notSynced are its declared Rooms whose Synced condition is not True.
	notSynced []finding
	// findings are what needs a human or is under way.
	findings []finding
}

// report is what status says.
type report struct {
	now  time.Time
	apps []appReport
	// strays are Rooms whose sdkAppID no ChatApp in their namespace has.
	strays []finding
}

// needsHuman counts what needs a human.
func (r report) needsHuman() int {
	n := 0
	for _, a := range r.apps {
		for _, f := range a.findings {
			if f.health == needsHuman {
				n++
			}
		}
	}
	for _, f := range r.strays {
		if f.health == needsHuman {
			n++
		}
	}
	return n
}

// evaluate decides what status says of v at now. It is pure: table and
// golden tests cover it without a cluster.
func evaluate(v view, now time.Time) report {
	rooms := slices.Clone(v.rooms)
	slices.SortFunc(rooms, func(a, b chatv1alpha1.Room) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	e := newEvaluation(v.apps, v.replays, now)
	for i := range rooms {
		e.addRoom(&rooms[i])
	}
	return e.report
}

// evaluation is a report being made: the ChatApps first, then the Rooms
// one by one (in namespace/name order), so that a page of Rooms can be
// dropped once it has been counted.
type evaluation struct {
	report
	owner map[appKey]int
}

func newEvaluation(apps []chatv1alpha1.ChatApp, replays []corev1.Event, now time.Time) *evaluation {
	e := &evaluation{report: report{now: now}, owner: map[appKey]int{}}
	apps = slices.Clone(apps)
	slices.SortFunc(apps, func(a, b chatv1alpha1.ChatApp) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for i := range apps {
		app := &apps[i]
		key := appKey{app.Namespace, app.Spec.SDKAppID}
		// The oldest ChatApp holds the sdkAppID and gets its Rooms.
		if j, ok := e.owner[key]; !ok || apps[j].CreationTimestamp.After(app.CreationTimestamp.Time) {
			e.owner[key] = i
		}
		e.apps = append(e.apps, appReport{app: app})
	}
	for i := range e.apps {
		a := &e.apps[i]
		a.callbacks = callbacksLine(a.app)
		a.resync = resyncLine(a.app, now)
		a.replay = newestReplay(replays, a.app)
		a.findings = appFindings(a.app, replays)
	}
	return e
}

// addRoom counts room, and keeps what it finds in it.
func (e *evaluation) addRoom(room *chatv1alpha1.Room) {
	j, ok := e.owner[appKey{room.Namespace, room.Spec.SDKAppID}]
	if !ok {
		if f := roomFinding(room); f.health != healthy {
			e.strays = append(e.strays, f)
		}
		return
	}
	a := &e.apps[j]
	a.count(room.Status.Phase, 1)
	if f := roomFinding(room); f.health != healthy {
		a.findings = append(a.findings, f)
	}
	if f, ok := notSynced(room); ok {
		a.notSynced = append(a.notSynced, f)
	}
}

// addSettled counts n Rooms of ns with sdkAppID in phase that their table
// rows show settled (roomRow): they hold nothing to report.
func (e *evaluation) addSettled(ns string, sdkAppID int64, phase chatv1alpha1.RoomPhase, n int) {
	j, ok := e.owner[appKey{ns, sdkAppID}]
	if !ok {
		return
	}
	e.apps[j].count(phase, n)
}

// count adds n Rooms in phase to a's counts.
func (a *appReport) count(phase chatv1alpha1.RoomPhase, n int) {
	a.rooms += n
	switch phase {
	case chatv1alpha1.RoomPhaseActive:
		a.active += n
	case chatv1alpha1.RoomPhaseDestroyed:
		a.destroyed += n
	}
}

type appKey struct {
	namespace string
	sdkAppID  int64
}

// refusingReasons are the ChatApp Stalled reasons under which its callbacks
// are refused (401) or go to another ChatApp.
var refusingReasons = []string{
	chatv1alpha1.SDKAppIDConflictReason, chatv1alpha1.TokenSecretNotFoundReason, chatv1alpha1.TokenKeyNotFoundReason,
	chatv1alpha1.CallbackAuthRequiredReason,
}

// callbacksLine says whether app accepts callbacks.
func callbacksLine(app *chatv1alpha1.ChatApp) string {
	ready := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.ReadyCondition)
	stalled := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.StalledCondition)
	switch {
	case ready == nil || app.Status.ObservedGeneration != app.Generation:
		return "not checked by roomsync yet"
	case stalled != nil && stalled.Status == metav1.ConditionTrue && slices.Contains(refusingReasons, stalled.Reason):
		return "refused (" + stalled.Reason + ")"
	case app.Spec.CallbackAuth == nil:
		return "accepted, unsigned (no callbackAuth)"
	}
	return "accepted, signed with the token in Secret " + app.Spec.CallbackAuth.TokenSecretRef.Name
}

// resyncLine says how app's resyncs go: the pass under way or the last one,
// and the last failure.
func resyncLine(app *chatv1alpha1.ChatApp, now time.Time) string {
	if app.Spec.RestAPI == nil {
		return ""
	}
	st := app.Status.Resync
	if st == nil || st.StartTime == nil {
		return "no pass yet"
	}
	var line string
	if st.CompletionTime == nil || st.CompletionTime.Before(st.StartTime) {
		line = fmt.Sprintf("pass under way, started %s: %d of %d Rooms read, %d drifted", ago(st.StartTime.Time, now), st.Checked, st.Rooms, st.Drifted)
	} else {
		line = fmt.Sprintf("last pass finished %s (took %s): %d of %d Rooms read, %d drifted", ago(st.CompletionTime.Time, now),
			took(st.CompletionTime.Sub(st.StartTime.Time)), st.Checked, st.Rooms, st.Drifted)
	}
	if st.Period != nil {
		line += fmt.Sprintf("; each of %d live Rooms confirmed within %s", st.LiveRooms, took(st.Period.Duration))
	}
	if c := st.CatchUp; c != nil {
		line += fmt.Sprintf("; catch-up asked for (%s", c.Reason)
		if c.Since != nil {
			line += fmt.Sprintf(", callbacks may be lost since %s", ago(c.Since.Time, now))
		}
		if len(c.Rooms) > 0 {
			line += fmt.Sprintf(", %d rooms lost events", len(c.Rooms))
		}
		line += ")"
	}
	if f := st.Failure; f != nil {
		line += fmt.Sprintf("; failed %s: %s: %s", ago(f.Time.Time, now), f.Reason, f.Message)
	}
	return line
}

// regards reports whether e is about app.
func regards(e *corev1.Event, app *chatv1alpha1.ChatApp) bool {
	o := e.InvolvedObject
	return o.Kind == "ChatApp" && o.Namespace == app.Namespace && o.Name == app.Name && (o.UID == "" || o.UID == app.UID)
}

// newestReplay returns the newest SpoolReplayed Event about app.
func newestReplay(events []corev1.Event, app *chatv1alpha1.ChatApp) *corev1.Event {
	var newest *corev1.Event
	for i := range events {
		e := &events[i]
		if e.Reason == spoolReplayedEvent && regards(e, app) && (newest == nil || eventTime(e).After(eventTime(newest))) {
			newest = e
		}
	}
	return newest
}

// appFindings are what needs a human about app, or is under way: its
// conditions, and the dead-lettered callbacks its Warning SpoolReplayed
// Events report (they are never retried: the Events are all the cluster
// keeps of them, besides the operator's log and metrics).
func appFindings(app *chatv1alpha1.ChatApp, replays []corev1.Event) []finding {
	what := "ChatApp " + app.Namespace + "/" + app.Name
	var out []finding
	if f := conditionsFinding(what, app.Status.Conditions, app.Generation, app.Status.ObservedGeneration); f.health != healthy {
		out = append(out, f)
	}
	for i := range replays {
		e := &replays[i]
		if e.Reason == spoolReplayedEvent && e.Type == corev1.EventTypeWarning && regards(e, app) {
			out = append(out, finding{health: needsHuman, what: what, reason: "DeadLettered",
				message: fmt.Sprintf("%s (Event %s at %s)", e.Message, e.Reason, eventTime(e).UTC().Format(time.RFC3339))})
		}
	}
	return out
}

// waitingReasons are Ready=False reasons of a Room that wait on Tencent or
// on roomsync's next interval, not on a human.
var waitingReasons = []string{chatv1alpha1.AwaitingRoomInfoReason, chatv1alpha1.DriftRevertPendingReason}

// conditionsFinding judges an object by its conditions: Stalled needs a
// human; Reconciling, a generation not observed yet or a waiting reason is
// under way; any other Ready but True needs a human.
func conditionsFinding(what string, conds []metav1.Condition, generation, observed int64) finding {
	stalled := meta.FindStatusCondition(conds, chatv1alpha1.StalledCondition)
	ready := meta.FindStatusCondition(conds, chatv1alpha1.ReadyCondition)
	reconciling := meta.FindStatusCondition(conds, chatv1alpha1.ReconcilingCondition)
	switch {
	case stalled != nil && stalled.Status == metav1.ConditionTrue:
		return finding{health: needsHuman, what: what, reason: "Stalled: " + stalled.Reason, message: stalled.Message}
	case observed != generation || ready == nil:
		return finding{health: waiting, what: what, reason: "NotObservedYet", message: "roomsync has not looked at this generation yet"}
	case reconciling != nil && reconciling.Status == metav1.ConditionTrue:
		return finding{health: waiting, what: what, reason: "Reconciling: " + reconciling.Reason, message: reconciling.Message}
	case ready.Status == metav1.ConditionTrue:
		return finding{}
	case slices.Contains(waitingReasons, ready.Reason):
		return finding{health: waiting, what: what, reason: "NotReady: " + ready.Reason, message: ready.Message}
	}
	return finding{health: needsHuman, what: what, reason: "NotReady: " + ready.Reason, message: ready.Message}
}

// roomFinding judges a Room: its conditions, then its recording.
func roomFinding(room *chatv1alpha1.Room) finding {
	what := "Room " + room.Namespace + "/" + room.Name
	f := conditionsFinding(what, room.Status.Conditions, room.Generation, room.Status.ObservedGeneration)
	if f.health == needsHuman {
		return f
	}
	if c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.RecordingCondition); c != nil && c.Reason == chatv1alpha1.RecordingFailedReason {
		return finding{health: needsHuman, what: what, reason: "RecordingFailed", message: c.Message}
	}
	return f
}

// notSynced reports a Room that declares settings or manages its room and
// whose Synced condition is not True.
func notSynced(room *chatv1alpha1.Room) (finding, bool) {
	if room.Spec.Settings == nil && !room.Spec.Manages() {
		return finding{}, false
	}
	what := "Room " + room.Namespace + "/" + room.Name
	c := meta.FindStatusCondition(room.Status.Conditions, chatv1alpha1.SyncedCondition)
	switch {
	case c == nil:
		return finding{what: what, reason: "Synced unknown", message: "no Synced condition yet"}, true
	case c.Status != metav1.ConditionTrue:
		return finding{what: what, reason: "Synced=" + string(c.Status) + ": " + c.Reason, message: c.Message}, true
	}
	return finding{}, false
}

// eventTime is when e last happened, whichever API wrote it: core/v1
// (lastTimestamp) or events.k8s.io/v1 (series, eventTime), read through
// core/v1.
func eventTime(e *corev1.Event) time.Time {
	t := e.CreationTimestamp.Time
	for _, c := range []time.Time{e.FirstTimestamp.Time, e.LastTimestamp.Time, e.EventTime.Time} {
		if c.After(t) {
			t = c
		}
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}

// eventCount is how many times e happened.
func eventCount(e *corev1.Event) int32 {
	switch {
	case e.Series != nil && e.Series.Count > 0:
		return e.Series.Count
	case e.Count > 0:
		return e.Count
	}
	return 1
}
