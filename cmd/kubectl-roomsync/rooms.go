package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// How status reads Rooms. A whole Room is 2–3 KB of JSON, most of it
// managedFields; with 100,000 Rooms the API server took 16 s to send them
// in one request and 26 s in pages of 500. Its server-side table of the
// Room's printer columns, without the object (includeObject=None), took
// 4 s, and tells most Rooms apart as settled: Ready, no failed
// recording, and Synced where roomsync manages the room. status counts
// those from the table and reads whole only the rest, so what it says of a
// Room is what the whole Room says (TestStatusTableAgreesWithWholeRooms).
//
// The table has no namespace column, so it is read one namespace at a
// time: every namespace with -A (listing them needs the right to), or the
// one asked for. Where it cannot be read (no right to list namespaces, a
// CRD older than its columns, more unsettled Rooms than are worth a read
// each), status reads every Room whole, a page at a time.

// roomsPage is how many whole Rooms status reads at a time: with 100,000
// Rooms it holds one page, not all of them.
const roomsPage = 500

// maxUnsettled is how many unsettled Rooms of a namespace status reads one
// by one; past it, it reads the namespace's Rooms whole a page at a time.
// What status holds of a namespace's table is its counts and at most
// these names.
const maxUnsettled = 200

// tableColumns are the Room printer columns (config/crd) status reads.
var tableColumns = []string{"Name", "SDKAppID", "Phase", "Ready", "Synced", "Policies", "Recording Status"}

// roomRow is what the table says of one Room.
type roomRow struct {
	name     string
	sdkAppID int64
	phase    chatv1alpha1.RoomPhase
	// settled: the columns show nothing status would report.
	settled bool
}

// settledKey groups the settled Rooms of a namespace as status counts
// them.
type settledKey struct {
	sdkAppID int64
	phase    chatv1alpha1.RoomPhase
}

// tableRead is what status keeps of a namespace's table: counts of the
// settled Rooms, and the names of the rest in the table's (name) order.
type tableRead struct {
	settled   map[settledKey]int
	unsettled []string
}

var (
	// errNoTable: the table lacks a column status needs (the CRD predates
	// it).
	errNoTable = errors.New("the Room table lacks a column status reads")
	// errTooUnsettled: more than maxUnsettled Rooms of the namespace are
	// unsettled.
	errTooUnsettled = errors.New("too many unsettled Rooms to read one by one")
)

// roomReader reads the Rooms status judges, in namespace and name order.
type roomReader struct {
	c client.Client
	// table reads the server-side table; nil reads whole Rooms only.
	table rest.Interface
}

// read calls whole for each Room that must be judged whole, in
// namespace/name order, and settled with the number of Rooms of each
// sdkAppID and phase the table shows settled.
func (r roomReader) read(ctx context.Context, ns string, whole func(*chatv1alpha1.Room),
	settled func(ns string, sdkAppID int64, phase chatv1alpha1.RoomPhase, n int)) error {
	if r.table == nil {
		return r.readWhole(ctx, ns, whole)
	}
	namespaces := []string{ns}
	if ns == "" {
		var err error
		if namespaces, err = r.namespaces(ctx); err != nil {
			if apierrors.IsForbidden(err) {
				return r.readWhole(ctx, "", whole)
			}
			return err
		}
	}
	for _, ns := range namespaces {
		t, err := r.readTable(ctx, ns)
		if errors.Is(err, errNoTable) || errors.Is(err, errTooUnsettled) {
			if err := r.readWhole(ctx, ns, whole); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		for k, n := range t.settled {
			settled(ns, k.sdkAppID, k.phase, n)
		}
		for _, name := range t.unsettled {
			room := &chatv1alpha1.Room{}
			switch err := r.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, room); {
			case apierrors.IsNotFound(err):
				// Deleted since the table was read.
			case err != nil:
				return fmt.Errorf("reading Room %s/%s: %w", ns, name, err)
			default:
				whole(room)
			}
		}
	}
	return nil
}

// namespaces lists every namespace's name, sorted.
func (r roomReader) namespaces(ctx context.Context) ([]string, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := r.c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return names, nil
}

// readWhole reads the Rooms of ns ("" for all) whole, a page at a time.
func (r roomReader) readWhole(ctx context.Context, ns string, whole func(*chatv1alpha1.Room)) error {
	for next := ""; ; {
		var rooms chatv1alpha1.RoomList
		if err := r.c.List(ctx, &rooms, client.InNamespace(ns), client.Limit(roomsPage), client.Continue(next)); err != nil {
			return fmt.Errorf("listing Rooms: %w", err)
		}
		for i := range rooms.Items {
			whole(&rooms.Items[i])
		}
		if next = rooms.Continue; next == "" {
			return nil
		}
	}
}

// readTable reads the table of the Rooms in ns in one request, decoding a
// row at a time. It is not paged: the API server answers a list without a
// continue token from its watch cache, while each continued page is read
// from etcd and costs several times more per Room (measured with 100,000
// Rooms: 4 s for the whole table, 56 s in pages of 500).
func (r roomReader) readTable(ctx context.Context, ns string) (tableRead, error) {
	body, err := r.table.Get().Namespace(ns).Resource("rooms").
		Param("includeObject", string(metav1.IncludeNone)).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		Stream(ctx)
	if err != nil {
		return tableRead{}, fmt.Errorf("listing the Rooms of namespace %s as a table: %w", ns, err)
	}
	defer func() { _ = body.Close() }()
	t, err := decodeTable(body, maxUnsettled)
	if err != nil && !errors.Is(err, errNoTable) && !errors.Is(err, errTooUnsettled) {
		err = fmt.Errorf("reading the Rooms of namespace %s as a table: %w", ns, err)
	}
	return t, err
}

// decodeTable decodes a meta.k8s.io/v1 Table of Rooms a row at a time,
// keeping what tableRead keeps. It stops with errTooUnsettled past
// maxUnsettled unsettled Rooms.
func decodeTable(body io.Reader, maxUnsettled int) (tableRead, error) {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return tableRead{}, err
	}
	var (
		column map[string]int
		t      = tableRead{settled: map[settledKey]int{}}
	)
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return tableRead{}, err
		}
		switch key {
		case "columnDefinitions":
			var defs []metav1.TableColumnDefinition
			if err := dec.Decode(&defs); err != nil {
				return tableRead{}, err
			}
			column = map[string]int{}
			for i, d := range defs {
				column[d.Name] = i
			}
			for _, name := range tableColumns {
				if _, ok := column[name]; !ok {
					return tableRead{}, fmt.Errorf("%w: %q", errNoTable, name)
				}
			}
		case "rows":
			if column == nil {
				return tableRead{}, errors.New("rows before columnDefinitions")
			}
			if err := expectDelim(dec, '['); err != nil {
				return tableRead{}, err
			}
			for dec.More() {
				var cells struct {
					Cells []any `json:"cells"`
				}
				if err := dec.Decode(&cells); err != nil {
					return tableRead{}, err
				}
				row, err := rowOf(cells.Cells, column)
				if err != nil {
					return tableRead{}, err
				}
				if row.settled {
					t.settled[settledKey{row.sdkAppID, row.phase}]++
					continue
				}
				if len(t.unsettled) == maxUnsettled {
					return tableRead{}, errTooUnsettled
				}
				t.unsettled = append(t.unsettled, row.name)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return tableRead{}, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return tableRead{}, err
			}
		}
	}
	if column == nil {
		return tableRead{}, fmt.Errorf("%w: no columnDefinitions", errNoTable)
	}
	return t, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q in the table, got %v", want, t)
	}
	return nil
}

// rowOf reads a table row. A Room is settled when its row shows it Ready
// (the Room controller sets Ready=False whenever it sets Stalled or
// Reconciling), without a failed recording, and, if its policies let
// roomsync manage the room, Synced; a Synced that is not True unsettles it
// too, whatever its policies. The one thing a row cannot show is a spec
// changed a moment ago that roomsync has not looked at yet (status says it
// is under way): such a Room is judged by the status it has.
func rowOf(cells []any, column map[string]int) (roomRow, error) {
	cell := func(name string) string {
		i := column[name]
		if i >= len(cells) || cells[i] == nil {
			return ""
		}
		switch v := cells[i].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		}
		return fmt.Sprint(cells[i])
	}
	row := roomRow{name: cell("Name"), phase: chatv1alpha1.RoomPhase(cell("Phase"))}
	if row.name == "" {
		return roomRow{}, errors.New("a table row without a name")
	}
	if id := cell("SDKAppID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return roomRow{}, fmt.Errorf("the sdkAppID %q of Room %s: %w", id, row.name, err)
		}
		row.sdkAppID = n
	}
	synced := cell("Synced")
	// The column holds spec.managementPolicies as JSON; one that does not
	// parse is taken to manage, which leaves the Room to a whole read.
	var spec chatv1alpha1.RoomSpec
	manages := true
	if policies := cell("Policies"); policies == "" || json.Unmarshal([]byte(policies), &spec.ManagementPolicies) == nil {
		manages = spec.Manages()
	}
	row.settled = cell("Ready") == string(metav1.ConditionTrue) &&
		cell("Recording Status") != chatv1alpha1.RecordingFailedReason &&
		(synced == string(metav1.ConditionTrue) || synced == "" && !manages)
	return row, nil
}
