package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomsync/roomsync/internal/testenv"
)

// TestInstallManifestsAreAccepted applies the kustomize install, the
// example overlay and the namespace-scoped one (built by kubectl's own
// kustomize) to the API server, which validates every object better than any
// offline schema check.
func TestInstallManifestsAreAccepted(t *testing.T) {
	kubectl(t, "create", "namespace", "chat") // the namespace-scoped overlay's
	for _, dir := range []string{"default", "overlays/example", "overlays/namespaced"} {
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
	// The Deployments' Pods are scheduled on the fake nodes and become
	// Ready, and the PodDisruptionBudget counts them.
	for _, ns := range []string{"roomsync-system", "chat-platform"} {
		waitDeploymentAvailable(t, ns, "roomsync-controller-manager", "roomsync-controller-manager")
	}
	namespaced := kubectl(t, "kustomize", filepath.Join(testenv.RepoRoot(), "config", "overlays", "namespaced"))
	for _, want := range []string{"--watch-namespaces=chat", "kind: RoleBinding\nmetadata:\n  name: roomsync-manager\n  namespace: chat", "name: roomsync-metrics-auth"} {
		if !strings.Contains(namespaced, want) {
			t.Errorf("the namespace-scoped overlay lacks %q", want)
		}
	}
	if strings.Contains(namespaced, "name: roomsync-manager-rolebinding") {
		t.Error("the namespace-scoped overlay still binds the manager's rules cluster-wide")
	}
	if image := kubectl(t, "get", "deployment", "-n", "chat-platform", "roomsync-controller-manager", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); image != "registry.example.com/platform/roomsync:v0.1.0" {
		t.Errorf("the example overlay's image is %q", image)
	}
}
