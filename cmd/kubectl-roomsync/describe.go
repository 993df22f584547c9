package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// maxEvents is how many of the newest Events describe shows.
const maxEvents = 100

func newDescribeCommand(p *plugin) *cobra.Command {
	return &cobra.Command{
		Use:   "describe ROOM",
		Short: "Show a Room: its spec and status, its recording sessions and Jobs, and its Events as a timeline",
		Long: "describe shows a Room as roomsync sees it: what it mirrors of the room, what roomsync may do to it\n" +
			"(managementPolicies, settings) and did (management, resync), its conditions, its recording sessions\n" +
			"and their Jobs, and the Events about the Room and its Jobs, oldest first.",
		Example: "  kubectl roomsync describe board-meeting -n chat",
		Args:    exactArgs("ROOM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.started()
			c, ns, err := p.clientAndNamespace()
			if err != nil {
				return err
			}
			d, err := gatherRoom(cmd.Context(), c, client.ObjectKey{Namespace: ns, Name: args[0]})
			if err != nil {
				return err
			}
			describeRoom(p.streams.Out, d, p.now())
			return nil
		},
	}
}

// roomDetails is what describe reads about a Room.
type roomDetails struct {
	room *chatv1alpha1.Room
	// app is the ChatApp that holds the Room's sdkAppID in its namespace
	// (nil when none does).
	app *chatv1alpha1.ChatApp
	// jobs are its recording Jobs.
	jobs []batchv1.Job
	// events are about the Room and its Jobs.
	events []corev1.Event
}

func gatherRoom(ctx context.Context, c client.Client, key client.ObjectKey) (roomDetails, error) {
	d := roomDetails{room: &chatv1alpha1.Room{}}
	if err := c.Get(ctx, key, d.room); err != nil {
		return d, fmt.Errorf("reading Room %s: %w", key, err)
	}
	var apps chatv1alpha1.ChatAppList
	if err := c.List(ctx, &apps, client.InNamespace(key.Namespace)); err != nil {
		return d, fmt.Errorf("listing ChatApps: %w", err)
	}
	for i := range apps.Items {
		a := &apps.Items[i]
		if a.Spec.SDKAppID == d.room.Spec.SDKAppID && (d.app == nil || a.CreationTimestamp.Before(&d.app.CreationTimestamp)) {
			d.app = a
		}
	}
	// The Jobs carry the Room's name in a label (shortened past 63
	// characters) and a controller reference to it.
	var jobs batchv1.JobList
	if err := c.List(ctx, &jobs, client.InNamespace(key.Namespace), client.HasLabels{chatv1alpha1.RoomLabel}); err != nil {
		return d, fmt.Errorf("listing recording Jobs: %w", err)
	}
	for _, j := range jobs.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == d.room.UID {
			d.jobs = append(d.jobs, j)
		}
	}
	// core/v1 Events show those written through events.k8s.io/v1 too.
	about := func(kind, name string, uid string) error {
		var evs corev1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(key.Namespace),
			client.MatchingFields{"involvedObject.kind": kind, "involvedObject.name": name}); err != nil {
			return fmt.Errorf("listing the Events of %s %s: %w", kind, name, err)
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.UID == "" || string(e.InvolvedObject.UID) == uid {
				d.events = append(d.events, e)
			}
		}
		return nil
	}
	if err := about("Room", d.room.Name, string(d.room.UID)); err != nil {
		return d, err
	}
	for _, j := range d.jobs {
		if err := about("Job", j.Name, string(j.UID)); err != nil {
			return d, err
		}
	}
	return d, nil
}

// describeRoom writes d as a person reads it. It is pure: golden tests
// cover it without a cluster.
func describeRoom(w io.Writer, d roomDetails, now time.Time) {
	room, st := d.room, &d.room.Status
	f := newFields(w, "")
	f.add("Name", "%s", room.Name)
	f.add("Namespace", "%s", room.Namespace)
	f.add("Room ID", "%s", room.Spec.RoomID)
	app := "no ChatApp in the namespace has it"
	if d.app != nil {
		app = "ChatApp " + d.app.Name
	}
	f.add("SDKAppID", "%d (%s)", room.Spec.SDKAppID, app)
	createdBy := "a user (declared)"
	if room.Labels[chatv1alpha1.CreatedByLabel] == chatv1alpha1.CreatedByCallback {
		createdBy = "a callback"
	}
	f.add("Created by", "%s, %s", createdBy, ago(room.CreationTimestamp.Time, now))
	f.add("Policies", "%s", policies(room.Spec))
	if s := room.Spec.Settings; s != nil {
		data, _ := json.Marshal(s)
		f.add("Settings", "%s", data)
	}
	f.add("Phase", "%s", orDash(string(st.Phase)))
	if d := st.Destroyed; d != nil {
		f.add("Destroyed", "at %s by %s, received %s", stamp(d.Time.Time), orDash(d.Operator), ago(d.ReceivedTime.Time, now))
	}
	f.add("Room name", "%s", orDash(st.RoomName))
	f.add("Owner", "%s", orDash(st.OwnerAccount))
	f.add("Type", "%s", orDash(st.RoomType))
	f.add("Members", "%s", membersLine(st, now))
	f.add("Seats", "%s", seatsLine(st))
	f.add("Recording", "%s", recordingLine(st, now))
	f.add("Resync", "%s", resyncOfRoom(st, now))
	if m := st.Management; m != nil {
		f.add("Management", "%s", managementLine(m, now))
	}
	f.add("Last event", "%s", lastEventLine(st))
	f.flush()

	printf(w, "Conditions:\n")
	if len(st.Conditions) == 0 {
		printf(w, "  none yet\n")
	} else {
		t := newTable(w, "  ", "TYPE", "STATUS", "REASON", "AGE", "MESSAGE")
		for _, c := range st.Conditions {
			t.row(c.Type, string(c.Status), c.Reason, age(c.LastTransitionTime.Time, now), c.Message)
		}
		t.flush()
	}

	printf(w, "Recording Jobs:\n")
	if len(d.jobs) == 0 {
		printf(w, "  none\n")
	} else {
		jobs := slices.Clone(d.jobs)
		slices.SortFunc(jobs, func(a, b batchv1.Job) int { return cmp.Compare(session(&a), session(&b)) })
		t := newTable(w, "  ", "SESSION", "JOB", "STATUS", "CREATED", "FINISHED")
		for i := range jobs {
			j := &jobs[i]
			finished := "-"
			if j.Status.CompletionTime != nil {
				finished = ago(j.Status.CompletionTime.Time, now)
			} else if c := jobCondition(j, batchv1.JobFailed); c != nil {
				finished = ago(c.LastTransitionTime.Time, now)
			}
			t.row(strconv.FormatInt(session(j), 10), j.Name, jobStatus(j), ago(j.CreationTimestamp.Time, now), finished)
		}
		t.flush()
	}

	printf(w, "Events (oldest first):\n")
	events := slices.Clone(d.events)
	slices.SortStableFunc(events, func(a, b corev1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })
	if len(events) > maxEvents {
		printf(w, "  (%d older ones left out)\n", len(events)-maxEvents)
		events = events[len(events)-maxEvents:]
	}
	if len(events) == 0 {
		printf(w, "  none kept (the API server keeps Events for an hour by default)\n")
		return
	}
	t := newTable(w, "  ", "TIME", "TYPE", "REASON", "OBJECT", "FROM", "MESSAGE")
	for i := range events {
		e := &events[i]
		msg := e.Message
		if n := eventCount(e); n > 1 {
			msg += fmt.Sprintf(" (x%d)", n)
		}
		t.row(stamp(eventTime(e)), e.Type, e.Reason, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name, eventSource(e), msg)
	}
	t.flush()
}

func policies(spec chatv1alpha1.RoomSpec) string {
	if len(spec.ManagementPolicies) == 0 {
		return "Observe (the default: roomsync only mirrors the room)"
	}
	var out []string
	for _, p := range spec.ManagementPolicies {
		out = append(out, string(p))
	}
	return strings.Join(out, ", ")
}

func membersLine(st *chatv1alpha1.RoomStatus, now time.Time) string {
	n := "unknown"
	if st.MemberCount != nil {
		n = strconv.FormatInt(*st.MemberCount, 10)
	}
	if m := st.Members; m != nil {
		n += fmt.Sprintf(" (left %d, kicked %d, expired %d", m.Left, m.Kicked, m.Expired)
		if !m.LastChangeTime.IsZero() {
			n += "; last change " + ago(m.LastChangeTime.Time, now)
		}
		n += ")"
	}
	if st.MaxMemberCount > 0 {
		n += fmt.Sprintf(", at most %d", st.MaxMemberCount)
	}
	return n
}

func seatsLine(st *chatv1alpha1.RoomStatus) string {
	if st.Seats == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d of %d taken", st.Seats.Taken, st.Seats.Total)
}

func recordingLine(st *chatv1alpha1.RoomStatus, now time.Time) string {
	line := string(st.CloudRecording)
	if line == "" {
		line = "unknown"
	}
	r := st.Recording
	if r == nil {
		return line + "; no session yet"
	}
	if r.Active {
		line += fmt.Sprintf("; session %d active, Job %s, started %s", r.Sessions, orDash(r.JobName), agoPtr(r.LastStartTime, now))
	} else {
		line += fmt.Sprintf("; %s, none active", plural(int(r.Sessions), "session", "sessions"))
		if r.LastStopTime != nil {
			line += ", the last stopped " + ago(r.LastStopTime.Time, now)
		}
	}
	return line
}

func resyncOfRoom(st *chatv1alpha1.RoomStatus, now time.Time) string {
	r := st.Resync
	if r == nil {
		return "never read from the REST API"
	}
	line := "never read from the REST API"
	if r.Time != nil {
		line = "read " + ago(r.Time.Time, now) + ", "
		if r.DriftFound {
			line += "drift found and corrected"
		} else {
			line += "no drift"
		}
	}
	if r.HandledRequest != "" {
		line += "; last request handled: " + r.HandledRequest
	}
	return line
}

func managementLine(m *chatv1alpha1.RoomManagement, now time.Time) string {
	var parts []string
	if m.CreatedTime != nil {
		parts = append(parts, "created "+ago(m.CreatedTime.Time, now))
	} else if m.CreateRequestedTime != nil {
		parts = append(parts, "creation requested "+ago(m.CreateRequestedTime.Time, now))
	}
	if m.AdoptedTime != nil {
		parts = append(parts, "adopted "+ago(m.AdoptedTime.Time, now))
	}
	if m.LastUpdateTime != nil {
		parts = append(parts, fmt.Sprintf("updated %s (%s)", ago(m.LastUpdateTime.Time, now), strings.Join(m.UpdatedFields, ", ")))
	}
	if f := m.Failure; f != nil {
		what := f.Reason
		if f.Command != "" {
			what += " in " + f.Command
		}
		parts = append(parts, fmt.Sprintf("failed %s: %s: %s", ago(f.Time.Time, now), what, f.Message))
	}
	if len(parts) == 0 {
		return "nothing done yet"
	}
	return strings.Join(parts, "; ")
}

func lastEventLine(st *chatv1alpha1.RoomStatus) string {
	if st.LastCallbackCommand == "" {
		return "none"
	}
	line := st.LastCallbackCommand
	if st.LastOperator != "" {
		line += " by " + st.LastOperator
	}
	if st.LastClientIP != "" || st.LastOptPlatform != "" {
		line += fmt.Sprintf(" from %s (%s)", orDash(st.LastClientIP), orDash(st.LastOptPlatform))
	}
	if st.LastEventTime > 0 {
		line += "; newest room info at " + stamp(time.UnixMilli(st.LastEventTime))
	}
	return line
}

func agoPtr(t *metav1.Time, now time.Time) string {
	if t == nil {
		return "at an unknown time"
	}
	return ago(t.Time, now)
}

// session is the recording session a Job runs.
func session(j *batchv1.Job) int64 {
	n, _ := strconv.ParseInt(j.Labels[chatv1alpha1.RecordingSessionLabel], 10, 64)
	return n
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// jobStatus says how a Job fares, as kubectl get jobs does.
func jobStatus(j *batchv1.Job) string {
	switch {
	case !j.DeletionTimestamp.IsZero():
		return "Deleting"
	case jobCondition(j, batchv1.JobFailed) != nil:
		return "Failed"
	case jobCondition(j, batchv1.JobComplete) != nil:
		return "Complete"
	case j.Spec.Suspend != nil && *j.Spec.Suspend:
		return "Suspended"
	case j.Status.Active > 0:
		return "Running"
	}
	return "Pending"
}

// eventSource is who wrote e.
func eventSource(e *corev1.Event) string {
	return cmp.Or(e.ReportingController, e.Source.Component, "-")
}
