package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

func newStatusCommand(p *plugin) *cobra.Command {
	var allNamespaces bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each ChatApp, its rooms, resyncs and replays, and what needs a human",
		Long: "status shows, for each ChatApp in the namespace (-n, or every namespace with -A): whether it\n" +
			"accepts callbacks and when the last one came, its Rooms, the resync under way or the last one and\n" +
			"its drift, the last replay of spooled callbacks (from its SpoolReplayed Events), its declared Rooms\n" +
			"that are not Synced, and everything Stalled or not Ready, with the reason.\n\n" +
			"It exits 1 when something needs a human: a Stalled or not-Ready ChatApp or Room (other than one\n" +
			"roomsync or Tencent is working on: Reconciling, not looked at yet, awaiting its first callback, a\n" +
			"revert due at the next interval), callbacks dead-lettered by the spool, a failed recording.",
		Example: "  kubectl roomsync status -n chat\n  kubectl roomsync status -A",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p.started()
			rooms, err := p.roomReader()
			if err != nil {
				return err
			}
			ns := ""
			if !allNamespaces {
				if ns, err = p.namespace(); err != nil {
					return err
				}
			}
			r, err := gather(cmd.Context(), rooms, ns, p.now())
			if err != nil {
				return err
			}
			writeReport(p.streams.Out, r, ns)
			if r.needsHuman() > 0 {
				return errAttention
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "every namespace, not only the current one")
	return cmd
}

// gather reads what status needs in ns ("" for every namespace) and makes
// the report at now. Rooms are read as roomReader.read says, in the order
// the API server lists them (namespace, then name), the order evaluate
// sorts them in.
func gather(ctx context.Context, rooms roomReader, ns string, now time.Time) (report, error) {
	var (
		apps chatv1alpha1.ChatAppList
		evs  corev1.EventList
	)
	c := rooms.c
	if err := c.List(ctx, &apps, client.InNamespace(ns)); err != nil {
		return report{}, fmt.Errorf("listing ChatApps: %w", err)
	}
	// core/v1 Events show those written through events.k8s.io/v1 too.
	if err := c.List(ctx, &evs, client.InNamespace(ns),
		client.MatchingFields{"involvedObject.kind": "ChatApp", "reason": spoolReplayedEvent}); err != nil {
		return report{}, fmt.Errorf("listing the ChatApps' %s Events: %w", spoolReplayedEvent, err)
	}
	e := newEvaluation(apps.Items, evs.Items, now)
	if err := rooms.read(ctx, ns, e.addRoom, e.addSettled); err != nil {
		return report{}, err
	}
	return e.report, nil
}

// writeReport writes r as a person reads it. ns is the namespace looked in
// ("" for all).
func writeReport(w io.Writer, r report, ns string) {
	where := "in namespace " + ns
	if ns == "" {
		where = "in any namespace"
	}
	if len(r.apps) == 0 {
		printf(w, "No ChatApps %s.\n", where)
	}
	for i, a := range r.apps {
		if i > 0 {
			printf(w, "\n")
		}
		writeApp(w, a, r)
	}
	if len(r.strays) > 0 {
		printf(w, "\nRooms of no ChatApp in their namespace:\n")
		writeFindings(w, r.strays)
	}
	printf(w, "\n")
	switch n := r.needsHuman(); n {
	case 0:
		printf(w, "Nothing needs a human.\n")
	default:
		printf(w, "%s a human.\n", plural(n, "thing needs", "things need"))
	}
}

func writeApp(w io.Writer, a appReport, r report) {
	app := a.app
	printf(w, "ChatApp %s/%s (sdkAppID %d)\n", app.Namespace, app.Name, app.Spec.SDKAppID)
	f := newFields(w, "  ")
	last := "no callback yet"
	if t := app.Status.LastCallbackTime; t != nil {
		last = "last one " + ago(t.Time, r.now)
	}
	f.add("Callbacks", "%s; %s", a.callbacks, last)
	if reg := app.Spec.CallbackRegistration; reg != nil {
		f.add("Callback URL", "%s: %s", reg.URL, callbackRegistration(app))
	}
	f.add("Rooms", "%d (%d Active, %d Destroyed)", a.rooms, a.active, a.destroyed)
	if a.resync == "" {
		f.add("Resync", "off (no spec.restAPI)")
	} else {
		f.add("Resync", "%s", a.resync)
	}
	if e := a.replay; e == nil {
		f.add("Last replay", "none in the Events kept")
	} else {
		f.add("Last replay", "%s (%s): %s", ago(eventTime(e), r.now), e.Type, e.Message)
	}
	f.flush()
	if len(a.notSynced) > 0 {
		printf(w, "  Declared Rooms not Synced:\n")
		writeFindings(w, a.notSynced)
	}
	var human, underWay []finding
	for _, f := range a.findings {
		if f.health == needsHuman {
			human = append(human, f)
		} else {
			underWay = append(underWay, f)
		}
	}
	if len(human) > 0 {
		printf(w, "  Needs a human:\n")
		writeFindings(w, human)
	}
	if len(underWay) > 0 {
		printf(w, "  Under way:\n")
		writeFindings(w, underWay)
	}
}

// callbackRegistration says what the CallbackRegistered condition says.
func callbackRegistration(app *chatv1alpha1.ChatApp) string {
	c := meta.FindStatusCondition(app.Status.Conditions, chatv1alpha1.CallbackRegisteredCondition)
	if c == nil {
		return "not checked yet"
	}
	if c.Status == "True" {
		return c.Reason
	}
	return fmt.Sprintf("%s (%s): %s", c.Reason, c.Status, c.Message)
}

func writeFindings(w io.Writer, fs []finding) {
	t := newTable(w, "    ")
	for _, f := range fs {
		t.row(f.what, f.reason, strings.TrimSpace(f.message))
	}
	t.flush()
}
