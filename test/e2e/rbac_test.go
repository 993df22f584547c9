package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/roomsync/roomsync/internal/testenv"
)

// TestRBACIsLeastPrivilege reads the ClusterRole that controller-gen makes
// from the code's markers: it must grant exactly what roomsync uses, with no
// wildcard. A new permission is a decision: add it here too. (The rest of
// this package runs the binary with only these permissions.)
func TestRBACIsLeastPrivilege(t *testing.T) {
	used := map[string]string{
		"/secrets":                                  "get,list,watch", // callback tokens
		"batch/jobs":                                "create,delete,list,watch",
		"chat.roomsync.io/chatapps":                 "get,list,watch",
		"chat.roomsync.io/chatapps/status":          "patch",
		"chat.roomsync.io/rooms":                    "create,delete,get,list,patch,watch", // patch: the destroy-room finalizer
		"chat.roomsync.io/rooms/status":             "patch",
		"chat.roomsync.io/rooms/finalizers":         "update", // blockOwnerDeletion on Job owner references
		"events.k8s.io/events":                      "create,patch",
		"authentication.k8s.io/tokenreviews":        "create", // secure metrics: who is scraping
		"authorization.k8s.io/subjectaccessreviews": "create", // secure metrics: may they
	}
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	granted := map[string][]string{}
	for _, rule := range role.Rules {
		if len(rule.NonResourceURLs) > 0 || len(rule.ResourceNames) > 0 {
			t.Errorf("unexpected rule %+v", rule)
		}
		for _, group := range rule.APIGroups {
			for _, resource := range rule.Resources {
				for _, verb := range rule.Verbs {
					if group == "*" || resource == "*" || verb == "*" {
						t.Errorf("wildcard in rule %+v", rule)
					}
					key := group + "/" + resource
					granted[key] = append(granted[key], verb)
				}
			}
		}
	}
	for key, verbs := range granted {
		slices.Sort(verbs)
		if want, ok := used[key]; !ok || strings.Join(verbs, ",") != want {
			t.Errorf("%s: granted %v, roomsync uses %q", key, verbs, want)
		}
	}
	for key := range used {
		if _, ok := granted[key]; !ok {
			t.Errorf("%s: not granted, yet roomsync uses it", key)
		}
	}
}
