package roomstore

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

func spooledApp() *chatv1alpha1.ChatApp {
	return &chatv1alpha1.ChatApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "app", UID: "uid-1"},
		Spec:       chatv1alpha1.ChatAppSpec{SDKAppID: 1400000001},
	}
}

// TestSpooledRecordsRoundTrip: every kind of event comes back from the
// spool as it went in.
func TestSpooledRecordsRoundTrip(t *testing.T) {
	name, count := tencent.String("Weekly"), int64(3)
	for _, ev := range []Event{
		{RoomID: "r1", EventTime: 1, Command: tencent.CommandAfterUpdateRoomInfo, Operator: "bob", ClientIP: "1.2.3.4", OptPlatform: "Web",
			RoomInfo: &RoomInfoChange{Info: tencent.RoomInfo{RoomName: &name}, Invitees: &count}},
		{RoomID: "Flip Room", EventTime: 2, Destroy: &DestroyChange{Received: time.Unix(1700000000, 5).UTC()}},
		{RoomID: "r1", EventTime: 3, Members: &MembersChange{Count: &count, Type: MemberLeave, Accounts: 2}},
		{RoomID: "r1", EventTime: 4, Seats: &SeatsChange{Total: 8, Taken: 3}},
	} {
		data, err := encodeSpooled(spooledApp(), ev)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := decodeSpooled(data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		again, _ := encodeSpooled(spooledApp(), rec.Event)
		if string(again) != string(data) || rec.App != refOf(spooledApp()) {
			t.Errorf("round trip changed the record:\n%s\n%s", data, again)
		}
	}
}

// TestSpooledRecordsThatAreNotOursAreRefused: a record the receiver could
// not have written is refused with a reason, never written.
func TestSpooledRecordsThatAreNotOursAreRefused(t *testing.T) {
	good, err := encodeSpooled(spooledApp(), Event{RoomID: "r", EventTime: 5, Seats: &SeatsChange{Total: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"torn", string(good[:len(good)/2]), "does not decode"},
		{"empty", "", "does not decode"},
		{"not an object", `[1,2]`, "does not decode"},
		{"another version", strings.Replace(string(good), `"v":1`, `"v":2`, 1), "version 2"},
		{"no ChatApp", `{"v":1,"event":{"RoomID":"r","EventTime":5,"Seats":{"Total":1,"Taken":0}}}`, "names no ChatApp"},
		{"bad RoomId", strings.Replace(string(good), `"RoomID":"r"`, `"RoomID":""`, 1), "RoomId"},
		{"no EventTime", strings.Replace(string(good), `"EventTime":5`, `"EventTime":0`, 1), "EventTime"},
		{"two changes", strings.Replace(string(good), `"Seats":`, `"Destroy":{"Received":"2026-01-01T00:00:00Z"},"Seats":`, 1), "2 changes"},
		{"no change", strings.Replace(string(good), `"Seats":{"Total":1,"Taken":0}`, `"Seats":null`, 1), "0 changes"},
		{"a value the Room refuses", strings.Replace(string(good), `"Total":1`, `"Total":1},"ClientIP":"`+strings.Repeat("9", 65)+`","X":{"Y":0`, 1), "lastClientIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeSpooled([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decodeSpooled(%s): %v, want an error about %q", tc.data, err, tc.want)
			}
		})
	}
}

// FuzzDecodeSpooled: no record makes decodeSpooled panic, and what it
// accepts passes the receiver's checks.
func FuzzDecodeSpooled(f *testing.F) {
	good, _ := encodeSpooled(spooledApp(), Event{RoomID: "r", EventTime: 5, Seats: &SeatsChange{Total: 1}})
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeSpooled(data)
		if err != nil {
			return
		}
		if err := Validate(rec.Event); err != nil {
			t.Errorf("accepted a record Validate refuses: %v", err)
		}
	})
}
