package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// roomTable returns the table the API server makes of rooms: its own
// converter, with the printer columns of the CRD in config/crd.
func roomTable(t *testing.T, rooms []chatv1alpha1.Room) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "chat.roomsync.io_rooms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		t.Fatal(err)
	}
	convertor, err := tableconvertor.New(crd.Spec.Versions[0].AdditionalPrinterColumns)
	if err != nil {
		t.Fatal(err)
	}
	list := &unstructured.UnstructuredList{}
	for i := range rooms {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&rooms[i])
		if err != nil {
			t.Fatal(err)
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: u})
	}
	table, err := convertor.ConvertToTable(t.Context(), list, &metav1.TableOptions{IncludeObject: metav1.IncludeNone})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStatusTableAgreesWithWholeRooms: what status says when it reads the
// table and only the unsettled Rooms whole is what it says when it reads
// every Room whole, for Rooms in each state status tells apart.
func TestStatusTableAgreesWithWholeRooms(t *testing.T) {
	notReady := func(reason string) func(*chatv1alpha1.Room) {
		return func(r *chatv1alpha1.Room) {
			r.Status.Conditions = []metav1.Condition{cond(chatv1alpha1.ReadyCondition, "False", reason, "waiting")}
		}
	}
	withCondition := func(c metav1.Condition) func(*chatv1alpha1.Room) {
		return func(r *chatv1alpha1.Room) { r.Status.Conditions = append(r.Status.Conditions, c) }
	}
	manages := func(synced metav1.ConditionStatus) func(*chatv1alpha1.Room) {
		return func(r *chatv1alpha1.Room) {
			r.Spec.ManagementPolicies = []chatv1alpha1.ManagementPolicy{chatv1alpha1.ManagementObserve, chatv1alpha1.ManagementUpdate}
			if synced != "" {
				r.Status.Conditions = append(r.Status.Conditions, cond(chatv1alpha1.SyncedCondition, synced, "Checked", "checked"))
			}
		}
	}
	cases := map[string]func(*chatv1alpha1.Room){
		"a-well": nil,
		"b-stalled": func(r *chatv1alpha1.Room) {
			notReady(chatv1alpha1.DuplicateRoomIDReason)(r)
			withCondition(cond(chatv1alpha1.StalledCondition, "True", chatv1alpha1.DuplicateRoomIDReason, "dup"))(r)
		},
		"c-not-ready": notReady("SomethingElse"),
		"d-awaiting":  notReady(chatv1alpha1.AwaitingRoomInfoReason),
		"e-creating": func(r *chatv1alpha1.Room) {
			notReady(chatv1alpha1.CreatingReason)(r)
			withCondition(cond(chatv1alpha1.ReconcilingCondition, "True", chatv1alpha1.CreatingReason, "creating"))(r)
		},
		"f-not-looked-at":  func(r *chatv1alpha1.Room) { r.Status.ObservedGeneration, r.Status.Conditions = -1, nil },
		"g-rec-failed":     withCondition(cond(chatv1alpha1.RecordingCondition, "False", chatv1alpha1.RecordingFailedReason, "failed")),
		"h-rec-stopped":    withCondition(cond(chatv1alpha1.RecordingCondition, "False", chatv1alpha1.RecordingStoppedReason, "stopped")),
		"i-rec-started":    withCondition(cond(chatv1alpha1.RecordingCondition, "True", chatv1alpha1.RecordingStartedReason, "started")),
		"j-synced":         manages("True"),
		"k-not-synced":     manages("False"),
		"l-synced-unknown": manages(""),
		"m-settings-not-synced": func(r *chatv1alpha1.Room) {
			r.Spec.Settings = &chatv1alpha1.RoomSettings{RoomName: ptr.To("Maths")}
			withCondition(cond(chatv1alpha1.SyncedCondition, "False", "Drifted", "drifted"))(r)
		},
		"n-destroyed": func(r *chatv1alpha1.Room) {
			r.Status.Phase = chatv1alpha1.RoomPhaseDestroyed
			r.Status.Conditions = []metav1.Condition{cond(chatv1alpha1.ReadyCondition, "True", chatv1alpha1.RoomDestroyedReason, "destroyed")}
		},
	}
	// Not among them: a Room whose spec changed a moment ago, before roomsync
	// looked at it. Read whole it is under way (NotObservedYet); its row
	// shows the status it had (see rowOf).
	var rooms []chatv1alpha1.Room
	for name, mutate := range cases {
		rooms = append(rooms, room("chat", name, 1, mutate))
		// The same Room of no ChatApp in its namespace: a stray.
		rooms = append(rooms, room("chat", "stray-"+name, 99, mutate))
	}
	// The API server lists them by name, as the table path reads them.
	slices.SortFunc(rooms, func(a, b chatv1alpha1.Room) int { return strings.Compare(a.Name, b.Name) })
	apps := []chatv1alpha1.ChatApp{chatApp("chat", "demo", 1, nil)}

	whole := evaluate(view{apps: apps, rooms: rooms}, now)

	table, err := decodeTable(bytes.NewReader(roomTable(t, rooms)), len(rooms))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*chatv1alpha1.Room{}
	for i := range rooms {
		byName[rooms[i].Name] = &rooms[i]
	}
	e := newEvaluation(apps, nil, now)
	for k, n := range table.settled {
		e.addSettled("chat", k.sdkAppID, k.phase, n)
	}
	for _, name := range table.unsettled {
		e.addRoom(byName[name])
	}
	settledNames := []string{"a-well", "h-rec-stopped", "i-rec-started", "j-synced", "n-destroyed"}
	wantSettled := map[settledKey]int{}
	var wantUnsettled []string
	for _, r := range rooms {
		if slices.Contains(settledNames, strings.TrimPrefix(r.Name, "stray-")) {
			wantSettled[settledKey{r.Spec.SDKAppID, r.Status.Phase}]++
		} else {
			wantUnsettled = append(wantUnsettled, r.Name)
		}
	}
	if !maps.Equal(table.settled, wantSettled) {
		t.Errorf("settled from the table: %v, want %v", table.settled, wantSettled)
	}
	if !slices.Equal(table.unsettled, wantUnsettled) {
		t.Errorf("unsettled from the table: %v, want %v", table.unsettled, wantUnsettled)
	}
	var got, wantOut bytes.Buffer
	writeReport(&got, e.report, "chat")
	writeReport(&wantOut, whole, "chat")
	if got.String() != wantOut.String() {
		t.Errorf("through the table status says:\n%s\nreading every Room whole it says:\n%s", got.String(), wantOut.String())
	}
	if e.needsHuman() != whole.needsHuman() || whole.needsHuman() == 0 {
		t.Errorf("needsHuman %d through the table, %d whole", e.needsHuman(), whole.needsHuman())
	}
}

// TestStatusTableWithoutItsColumns: a table from a CRD that lacks a column
// status reads is refused, so that status reads the Rooms whole.
func TestStatusTableWithoutItsColumns(t *testing.T) {
	table := `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{},"columnDefinitions":[{"name":"Name","type":"string"},{"name":"Ready","type":"string"}],"rows":[{"cells":["r","True"]}]}`
	if _, err := decodeTable(strings.NewReader(table), 10); !errors.Is(err, errNoTable) {
		t.Errorf("decodeTable = %v, want errNoTable", err)
	}
}

// TestStatusTableWithTooManyUnsettled: past maxUnsettled unsettled Rooms,
// the table is given up for a read of every Room whole.
func TestStatusTableWithTooManyUnsettled(t *testing.T) {
	var rooms []chatv1alpha1.Room
	for _, name := range []string{"a", "b", "c"} {
		rooms = append(rooms, room("chat", name, 1, func(r *chatv1alpha1.Room) { r.Status.Conditions = nil }))
	}
	table := roomTable(t, rooms)
	if _, err := decodeTable(bytes.NewReader(table), 2); !errors.Is(err, errTooUnsettled) {
		t.Errorf("3 unsettled Rooms, at most 2: decodeTable = %v, want errTooUnsettled", err)
	}
	if got, err := decodeTable(bytes.NewReader(table), 3); err != nil || len(got.unsettled) != 3 {
		t.Errorf("3 unsettled Rooms, at most 3: decodeTable = %+v, %v", got, err)
	}
}
