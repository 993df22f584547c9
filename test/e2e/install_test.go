package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomsync/roomsync/internal/testenv"
)

// TestInstallManifestsAreAccepted applies the kustomize install and the
// example overlay (built by kubectl's own kustomize) to the API server,
// which validates every object better than any offline schema check.
func TestInstallManifestsAreAccepted(t *testing.T) {
	for _, dir := range []string{"default", "overlays/example"} {
		path := filepath.Join(testenv.RepoRoot(), "config", dir)
		out := kubectl(t, "apply", "--server-side", "--force-conflicts", "-k", path)
		for _, want := range []string{
			"deployment.apps/roomsync-controller-manager",
			"service/roomsync-callback",
			"service/roomsync-metrics",
			"poddisruptionbudget.policy/roomsync-controller-manager",
			"clusterrole.rbac.authorization.k8s.io/roomsync-manager-role",
			"clusterrole.rbac.authorization.k8s.io/roomsync-metrics-reader",
			"clusterrole.rbac.authorization.k8s.io/roomsync-aggregate-to-view",
			"clusterrole.rbac.authorization.k8s.io/roomsync-aggregate-to-edit",
			"role.rbac.authorization.k8s.io/roomsync-leader-election-role",
			"customresourcedefinition.apiextensions.k8s.io/rooms.chat.roomsync.io",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("config/%s: %s not applied:\n%s", dir, want, out)
			}
		}
	}
	if image := kubectl(t, "get", "deployment", "-n", "chat-platform", "roomsync-controller-manager", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); image != "registry.example.com/platform/roomsync:v0.1.0" {
		t.Errorf("the example overlay's image is %q", image)
	}
}
