package lookup

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

// claimOf builds a claim named name; tokens nil: no callbackAuth; a
// tokens of {""}: callbackAuth whose Secret cannot be read.
func claimOf(name string, tokens ...string) *Claim {
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "app", UID: types.UID(name)}}
	c := &Claim{App: app}
	switch {
	case tokens == nil:
	case len(tokens) == 1 && tokens[0] == "":
		app.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{}
		c.TokenErr = ErrTokenSecretNotFound
	default:
		app.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{}
		c.Tokens = tokens
	}
	return c
}

func TestShadowedBy(t *testing.T) {
	name := func(c *Claim) string {
		if c == nil {
			return ""
		}
		return c.App.Namespace
	}
	for _, tc := range []struct {
		name   string
		claims []*Claim
		i      int
		want   string
	}{
		{name: "alone, signed", claims: []*Claim{claimOf("a", "t")}, i: 0},
		{name: "alone, unsigned", claims: []*Claim{claimOf("a")}, i: 0},
		{name: "younger with another token", claims: []*Claim{claimOf("squatter", "guess"), claimOf("owner", "t")}, i: 1},
		{name: "younger with the same token", claims: []*Claim{claimOf("first", "t"), claimOf("copy", "t")}, i: 1, want: "first"},
		{name: "younger sharing the previous token", claims: []*Claim{claimOf("first", "old"), claimOf("rotating", "new", "old")}, i: 1, want: "first"},
		{name: "older unsigned is no conflict for a signed one", claims: []*Claim{claimOf("squatter"), claimOf("owner", "t")}, i: 1},
		{name: "unsigned beside a younger signed one", claims: []*Claim{claimOf("squatter"), claimOf("owner", "t")}, i: 0, want: "owner"},
		{name: "unsigned beside a signed one whose Secret is missing", claims: []*Claim{claimOf("squatter"), claimOf("owner", "")}, i: 0, want: "owner"},
		{name: "younger unsigned", claims: []*Claim{claimOf("first"), claimOf("second")}, i: 1, want: "first"},
		{name: "older unsigned", claims: []*Claim{claimOf("first"), claimOf("second")}, i: 0},
		{name: "unreadable token shadows none", claims: []*Claim{claimOf("broken", ""), claimOf("owner", "t")}, i: 1},
		{name: "unreadable token is shadowed by none", claims: []*Claim{claimOf("owner", "t"), claimOf("broken", "")}, i: 1},
		{name: "many squatters", claims: []*Claim{claimOf("s1"), claimOf("s2", "x"), claimOf("s3", ""), claimOf("s4", "y"), claimOf("owner", "t")}, i: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := name(ShadowedBy(tc.claims, tc.i)); got != tc.want {
				t.Errorf("ShadowedBy = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSignedBy(t *testing.T) {
	claims := []*Claim{claimOf("squatter"), claimOf("guess", "guess"), claimOf("broken", ""), claimOf("owner", "t", "previous"), claimOf("copy", "t")}
	rt := "1700000000"
	for token, want := range map[string]string{"t": "owner", "previous": "owner", "guess": "guess", "unknown": "", "": ""} {
		got := SignedBy(claims, tencent.Sign(token, rt), rt)
		if (got == nil && want != "") || (got != nil && got.App.Namespace != want) {
			t.Errorf("a Sign made with %q goes to %v, want %q", token, got, want)
		}
	}
	if !AnySigned(claims) || AnySigned(claims[:1]) {
		t.Error("AnySigned")
	}
}

func TestDescribeNamesOnlyTheSameNamespace(t *testing.T) {
	c := claimOf("tenant-a", "t")
	if got := Describe(c, "tenant-a"); got != "ChatApp app" {
		t.Errorf("same namespace: %q", got)
	}
	if got := Describe(c, "tenant-b"); got != "a ChatApp in another namespace" {
		t.Errorf("other namespace: %q", got)
	}
}
