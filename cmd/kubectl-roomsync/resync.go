package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// pollInterval is how often a waiting command reads the object again.
const pollInterval = 250 * time.Millisecond

func newResyncCommand(p *plugin) *cobra.Command {
	var (
		all     bool
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "resync (ROOM | --all CHATAPP)",
		Short: "Ask roomsync to read a Room, or all of a ChatApp's Rooms, from Tencent's REST API now",
		Long: "resync ROOM sets the Room's chat.roomsync.io/resync-requested-at annotation to the current time and\n" +
			"waits until roomsync has acted on it (status.resync.handledRequest), then shows what the read found.\n\n" +
			"resync --all CHATAPP sets the same annotation on the ChatApp: roomsync starts one full pass over its\n" +
			"Rooms at once (one write, not one per Room) and this waits for the pass to end, showing its progress.\n\n" +
			"It exits 1 when the read could not be made or failed, or the wait timed out.",
		Example: "  kubectl roomsync resync board-meeting -n chat\n  kubectl roomsync resync --all conference -n chat --timeout 30m",
		Args:    exactArgs("ROOM (or --all CHATAPP)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			p.started()
			c, ns, err := p.clientAndNamespace()
			if err != nil {
				return err
			}
			key := client.ObjectKey{Namespace: ns, Name: args[0]}
			if all {
				return p.resyncApp(cmd.Context(), c, key, wait, timeout)
			}
			return p.resyncRoom(cmd.Context(), c, key, wait, timeout)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "resync every Room of the ChatApp named, in one full pass")
	cmd.Flags().BoolVar(&wait, "wait", true, "wait until roomsync has acted on the request")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait (a full pass of 10,000 Rooms at 20 requests/s takes about 17 minutes)")
	return cmd
}

// requestResync sets obj's resync-requested-at annotation to a new value
// and returns it.
func (p *plugin) requestResync(ctx context.Context, c client.Client, obj client.Object) (string, time.Time, error) {
	at := p.now()
	value := at.UTC().Format(time.RFC3339Nano)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{chatv1alpha1.ResyncRequestedAtAnnotation: value}}})
	if err != nil {
		return "", at, err
	}
	if err := c.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return "", at, fmt.Errorf("annotating %s: %w", obj.GetName(), err)
	}
	return value, at, nil
}

// poll calls done every pollInterval until it reports true or fails, or
// timeout passes.
func poll(ctx context.Context, timeout time.Duration, done func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := done(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return err
		case ok:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting after %s", timeout)
		case <-time.After(pollInterval):
		}
	}
}

func (p *plugin) resyncRoom(ctx context.Context, c client.Client, key client.ObjectKey, wait bool, timeout time.Duration) error {
	out := p.streams.Out
	room := &chatv1alpha1.Room{}
	if err := c.Get(ctx, key, room); err != nil {
		return fmt.Errorf("reading Room %s: %w", key, err)
	}
	value, at, err := p.requestResync(ctx, c, room)
	if err != nil {
		return err
	}
	printf(out, "Room %s: resync requested (%s=%s)\n", key, chatv1alpha1.ResyncRequestedAtAnnotation, value)
	if !wait {
		return nil
	}
	err = poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, room); err != nil {
			return false, err
		}
		return room.Status.Resync != nil && room.Status.Resync.HandledRequest == value, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for roomsync to handle the request: %w (is the operator running, and does the ChatApp have spec.restAPI?)", err)
	}
	// metav1.Time keeps seconds: a read in the request's second counts.
	st := room.Status.Resync
	if st.Time != nil && !st.Time.Time.Before(at.Truncate(time.Second)) {
		drift := "no drift: the Room was up to date"
		if st.DriftFound {
			drift = "drift found: the Room was out of date and has been corrected"
		}
		printf(out, "Room %s: read from Tencent at %s, %s\n", key, stamp(st.Time.Time), drift)
		printf(out, "  phase %s, %s, room name %q\n", orDash(string(room.Status.Phase)), members(room), room.Status.RoomName)
		return nil
	}
	// Handled without a read: the operator says why in a Warning Event,
	// which may be written a moment after the status.
	why := "no Event says why (kubectl roomsync describe " + key.Name + ")"
	_ = poll(ctx, 5*time.Second, func(ctx context.Context) (bool, error) {
		e, err := requestEvent(ctx, c, "Room", room.Namespace, room.Name, value)
		if e != nil {
			why = fmt.Sprintf("%s: %s", e.Reason, e.Message)
		}
		return e != nil, err
	})
	printf(out, "Room %s: the request was handled but the room was not read: %s\n", key, why)
	return errAttention
}

// requestEvent finds the Warning Event that says why the request value
// could not be served for the object of kind.
func requestEvent(ctx context.Context, c client.Client, kind, ns, name, value string) (*corev1.Event, error) {
	var evs corev1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(ns), client.MatchingFields{"involvedObject.kind": kind, "involvedObject.name": name}); err != nil {
		return nil, err
	}
	for i := range evs.Items {
		e := &evs.Items[i]
		if (e.Reason == resyncFailedEvent || e.Reason == resyncUnavailableEvent) && strings.Contains(e.Message, "("+value+")") {
			return e, nil
		}
	}
	return nil, nil
}

func (p *plugin) resyncApp(ctx context.Context, c client.Client, key client.ObjectKey, wait bool, timeout time.Duration) error {
	out := p.streams.Out
	app := &chatv1alpha1.ChatApp{}
	if err := c.Get(ctx, key, app); err != nil {
		return fmt.Errorf("reading ChatApp %s: %w", key, err)
	}
	if app.Spec.RestAPI == nil {
		return fmt.Errorf("ChatApp %s has no spec.restAPI: roomsync cannot read its rooms from Tencent", key)
	}
	value, at, err := p.requestResync(ctx, c, app)
	if err != nil {
		return err
	}
	printf(out, "ChatApp %s: full resync requested (%s=%s)\n", key, chatv1alpha1.ResyncRequestedAtAnnotation, value)
	if !wait {
		return nil
	}
	since := at.Truncate(time.Second)
	var (
		shown    string
		lastShow time.Time
	)
	err = poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, app); err != nil {
			return false, err
		}
		st := app.Status.Resync
		if st == nil {
			return false, nil
		}
		if st.HandledRequest == value {
			return true, nil
		}
		// Progress of the pass this request started, every few seconds.
		if st.StartTime != nil && !st.StartTime.Time.Before(since) && (st.CompletionTime == nil || st.CompletionTime.Before(st.StartTime)) {
			line := fmt.Sprintf("  %d of %d Rooms read, %d drifted", st.Checked, st.Rooms, st.Drifted)
			if line != shown && time.Since(lastShow) >= 2*time.Second {
				printf(out, "%s\n", line)
				shown, lastShow = line, time.Now()
			}
		}
		return false, nil
	})
	if errors.Is(err, context.Canceled) || apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return fmt.Errorf("waiting for roomsync to handle the request: %w (is the operator running?)", err)
	}
	st := app.Status.Resync
	if f := st.Failure; f != nil && !f.Time.Time.Before(since) {
		printf(out, "ChatApp %s: the pass failed: %s: %s\n", key, f.Reason, f.Message)
		return errAttention
	}
	if st.CompletionTime == nil || st.CompletionTime.Time.Before(since) {
		why := "no Event says why"
		if e, _ := requestEvent(ctx, c, "ChatApp", app.Namespace, app.Name, value); e != nil {
			why = fmt.Sprintf("%s: %s", e.Reason, e.Message)
		}
		printf(out, "ChatApp %s: the request was handled but no pass finished: %s\n", key, why)
		return errAttention
	}
	elapsed := "-"
	if st.StartTime != nil {
		elapsed = took(st.CompletionTime.Sub(st.StartTime.Time))
	}
	printf(out, "ChatApp %s: full resync finished at %s (took %s): %d of %d Rooms read, %d drifted and corrected\n",
		key, stamp(st.CompletionTime.Time), elapsed, st.Checked, st.Rooms, st.Drifted)
	return nil
}

// members says how many members a Room has.
func members(room *chatv1alpha1.Room) string {
	if room.Status.MemberCount == nil {
		return "members unknown"
	}
	return plural(int(*room.Status.MemberCount), "member", "members")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
