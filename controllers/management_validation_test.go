package controllers_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// The API server, not roomsync, refuses what a Room or ChatApp cannot mean:
// these are the CRDs' rules, as a user applying YAML meets them.
func TestManagementSpecIsValidated(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	policies := func(p ...chatv1alpha1.ManagementPolicy) []chatv1alpha1.ManagementPolicy { return p }
	for name, tc := range map[string]struct {
		spec chatv1alpha1.RoomSpec
		want string // "" accepted, else part of the error
	}{
		"default": {spec: chatv1alpha1.RoomSpec{}},
		"all":     {spec: chatv1alpha1.RoomSpec{ManagementPolicies: policies("*")}},
		"observe create update delete": {spec: chatv1alpha1.RoomSpec{
			ManagementPolicies: policies("Observe", "Create", "Update", "Delete"), AdoptExisting: true}},
		"star with others":     {spec: chatv1alpha1.RoomSpec{ManagementPolicies: policies("*", "Observe")}, want: "must stand alone"},
		"without Observe":      {spec: chatv1alpha1.RoomSpec{ManagementPolicies: policies("Create")}, want: "must include Observe"},
		"unknown policy":       {spec: chatv1alpha1.RoomSpec{ManagementPolicies: policies("Observe", "Destroy")}, want: "Unsupported value"},
		"twice":                {spec: chatv1alpha1.RoomSpec{ManagementPolicies: policies("Observe", "Observe")}, want: "Duplicate value"},
		"adopt without Create": {spec: chatv1alpha1.RoomSpec{ManagementPolicies: policies("Observe", "Update"), AdoptExisting: true}, want: "adoptExisting applies only with the Create"},
		"empty settings":       {spec: chatv1alpha1.RoomSpec{Settings: &chatv1alpha1.RoomSettings{}}, want: "settings"},
		"schedule backwards": {spec: chatv1alpha1.RoomSpec{Settings: &chatv1alpha1.RoomSettings{
			ScheduleStartTime: ptr.To[int64](2000), ScheduleEndTime: ptr.To[int64](1000)}}, want: "scheduleEndTime must be after"},
		"bad seat mode":    {spec: chatv1alpha1.RoomSpec{Settings: &chatv1alpha1.RoomSettings{TakeSeatMode: ptr.To("Anyone")}}, want: "Unsupported value"},
		"long room name":   {spec: chatv1alpha1.RoomSpec{Settings: &chatv1alpha1.RoomSettings{RoomName: ptr.To(strings.Repeat("会", 34))}}, want: "at most 100 bytes"},
		"zero max members": {spec: chatv1alpha1.RoomSpec{Settings: &chatv1alpha1.RoomSettings{MaxMemberCount: ptr.To[int64](0)}}, want: "maxMemberCount"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.spec.SDKAppID, tc.spec.RoomID = 1, "r-"+name
			room := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "v-"}, Spec: tc.spec}
			err := env.Client.Create(ctx, room)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %v, want %q in it", err, tc.want)
			}
		})
	}
	defaulted := &chatv1alpha1.Room{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "defaulted"}, Spec: chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: "d"}}
	if err := env.Client.Create(ctx, defaulted); err != nil {
		t.Fatal(err)
	}
	if got := defaulted.Spec.ManagementPolicies; len(got) != 1 || got[0] != chatv1alpha1.ManagementObserve {
		t.Errorf("default managementPolicies %v, want [Observe]", got)
	}
}

// Create-only settings cannot change once the room exists: update_room_info
// could not carry the change, so the Room would never be Synced.
func TestCreateOnlySettingsAreImmutableWhileTheRoomExists(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	room := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "create-only"},
		Spec: chatv1alpha1.RoomSpec{SDKAppID: 1, RoomID: "c", ManagementPolicies: []chatv1alpha1.ManagementPolicy{"*"},
			Settings: &chatv1alpha1.RoomSettings{RoomType: ptr.To("Conference"), RoomName: ptr.To("a")}},
	}
	if err := env.Client.Create(ctx, room); err != nil {
		t.Fatal(err)
	}
	patchSpec := func(change func(*chatv1alpha1.RoomSettings)) error {
		orig := room.DeepCopy()
		change(room.Spec.Settings)
		err := env.Client.Patch(ctx, room, client.MergeFrom(orig))
		if err != nil {
			room = orig
		}
		return err
	}
	// Before the room exists a typo can still be fixed.
	if err := patchSpec(func(s *chatv1alpha1.RoomSettings) { s.RoomType = ptr.To("Live") }); err != nil {
		t.Fatalf("changing roomType before the room exists: %v", err)
	}
	orig := room.DeepCopy()
	room.Status.Phase = chatv1alpha1.RoomPhaseActive
	room.Status.RoomType = "Live"
	room.Status.OwnerAccount = "host"
	if err := env.Client.Status().Patch(ctx, room, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	if err := patchSpec(func(s *chatv1alpha1.RoomSettings) { s.RoomType = ptr.To("Conference") }); err == nil ||
		!strings.Contains(err.Error(), "spec.settings.roomType is create-only") {
		t.Errorf("changing roomType of an existing room: %v, want refused as create-only", err)
	}
	if err := patchSpec(func(s *chatv1alpha1.RoomSettings) { s.OwnerAccount = ptr.To("someone-else") }); err == nil ||
		!strings.Contains(err.Error(), "ownerAccount is create-only") {
		t.Errorf("adding another ownerAccount to an existing room: %v, want refused as create-only", err)
	}
	if err := patchSpec(func(s *chatv1alpha1.RoomSettings) { s.OwnerAccount = ptr.To("host") }); err != nil {
		t.Errorf("declaring the ownerAccount the room has: %v", err)
	}
	if err := patchSpec(func(s *chatv1alpha1.RoomSettings) { s.RoomName = ptr.To("b") }); err != nil {
		t.Errorf("changing the updatable roomName: %v", err)
	}
	if err := patchSpec(func(s *chatv1alpha1.RoomSettings) { s.RoomType = nil }); err != nil {
		t.Errorf("no longer managing roomType: %v", err)
	}
}

func TestCallbackRegistrationNeedsTheRESTAPI(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	reg := &chatv1alpha1.CallbackRegistration{URL: "https://roomsync.example.com/callback"}
	rest := &chatv1alpha1.RestAPISpec{Administrator: "admin", SecretKeyRef: chatv1alpha1.SecretKeyReference{Name: "k"}}
	for name, tc := range map[string]struct {
		spec chatv1alpha1.ChatAppSpec
		want string
	}{
		"with restAPI":    {spec: chatv1alpha1.ChatAppSpec{RestAPI: rest, CallbackRegistration: reg}},
		"without restAPI": {spec: chatv1alpha1.ChatAppSpec{CallbackRegistration: reg}, want: "callbackRegistration needs restAPI"},
		"not a URL": {spec: chatv1alpha1.ChatAppSpec{RestAPI: rest, CallbackRegistration: &chatv1alpha1.CallbackRegistration{URL: "roomsync.example.com"}},
			want: "url must be an http:// or https:// URL"},
		"unknown command": {spec: chatv1alpha1.ChatAppSpec{RestAPI: rest, CallbackRegistration: &chatv1alpha1.CallbackRegistration{
			URL: reg.URL, Commands: []string{"Room.CallbackAfterEverything"}}}, want: "Unsupported value"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.spec.SDKAppID = newSDKAppID()
			app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "v-"}, Spec: tc.spec}
			err := env.Client.Create(ctx, app)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q in it", err, tc.want)
			}
		})
	}
}
