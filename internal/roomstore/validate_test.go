package roomstore

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

// crdRules returns the maxLength and minimum rules of the Room CRD's status,
// by JSON path below status, leaving out what only the controllers write.
func crdRules(t *testing.T) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile("../../config/crd/bases/chat.roomsync.io_rooms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties map[string]schema `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	rules := map[string]int64{}
	controllers := map[string]bool{"conditions": true, "recording": true, "resync": true, "management": true, "observedGeneration": true}
	var walk func(prefix string, props map[string]schema)
	walk = func(prefix string, props map[string]schema) {
		for name, s := range props {
			if prefix == "" && controllers[name] {
				continue
			}
			if s.MaxLength != nil {
				rules[prefix+name+" maxLength"] = *s.MaxLength
			}
			if s.Minimum != nil {
				rules[prefix+name+" minimum"] = *s.Minimum
			}
			walk(prefix+name+".", s.Properties)
		}
	}
	walk("", crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Properties)
	return rules
}

type schema struct {
	MaxLength  *int64            `json:"maxLength"`
	Minimum    *int64            `json:"minimum"`
	Properties map[string]schema `json:"properties"`
}

// TestValidateKnowsEveryRuleOfTheCRD: the local checks are exactly the
// CRD's rules for the receiver's part of the status.
func TestValidateKnowsEveryRuleOfTheCRD(t *testing.T) {
	ours := map[string]int64{}
	for _, l := range statusLimits(new(chatv1alpha1.RoomStatus)) {
		if l.maxLength > 0 {
			ours[l.path+" maxLength"] = int64(l.maxLength)
		}
		if l.min != nil {
			ours[l.path+" minimum"] = *l.min
		}
	}
	if crd := crdRules(t); !reflect.DeepEqual(ours, crd) {
		t.Errorf("Validate checks\n%v\nbut the CRD has\n%v", ours, crd)
	}
}

func TestValidate(t *testing.T) {
	s := func(v string) *tencent.String { x := tencent.String(v); return &x }
	n := func(v int64) *tencent.Int64 { x := tencent.Int64(v); return &x }
	info := func(ri tencent.RoomInfo) Event {
		return Event{RoomID: "r", EventTime: 1, Command: tencent.CommandAfterUpdateRoomInfo, RoomInfo: &RoomInfoChange{Info: ri}}
	}
	for _, tc := range []struct {
		name string
		ev   Event
		want string // in the error; "" for valid
	}{
		{"room name at the limit", info(tencent.RoomInfo{RoomName: s(strings.Repeat("名", 1024))}), ""},
		{"room name over the limit", info(tencent.RoomInfo{RoomName: s(strings.Repeat("a", 1025))}), "roomName would be 1025 characters"},
		{"custom info over the limit", info(tencent.RoomInfo{CustomInfo: s(strings.Repeat("a", 8193))}), "customInfo"},
		{"owner over the limit", info(tencent.RoomInfo{OwnerAccount: s(strings.Repeat("a", 257))}), "ownerAccount"},
		{"negative max member count", info(tencent.RoomInfo{MaxMemberCount: n(-1)}), "maxMemberCount would be -1"},
		{"zero max seat count", info(tencent.RoomInfo{MaxSeatCount: n(0)}), ""},
		{"negative member count", Event{RoomID: "r", EventTime: 1, Members: &MembersChange{Count: new(int64(-3)), Type: MemberEnter, Accounts: 1}}, "memberCount"},
		{"operator over the limit", Event{RoomID: "r", EventTime: 1, Operator: strings.Repeat("o", 257), Destroy: &DestroyChange{}}, "lastOperator"},
		{"client IP over the limit", Event{RoomID: "r", EventTime: 1, ClientIP: strings.Repeat("1", 65), Seats: &SeatsChange{}}, "lastClientIP"},
		{"an EventTime past the year 9999", Event{RoomID: "r", EventTime: 1 << 62, Destroy: &DestroyChange{}}, "not a date"},
		{"an ordinary update", info(tencent.RoomInfo{RoomName: s("Weekly"), MaxMemberCount: n(300)}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.ev)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}
