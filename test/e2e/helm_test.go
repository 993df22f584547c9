package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomsync/roomsync/internal/testenv"
)

// helm runs the helm that `make test` builds ($HELM, or bin/helm).
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join(testenv.RepoRoot(), "bin", "helm")
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("no helm: run the tests with `make test`, which builds it, or set HELM")
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func chartDir() string { return filepath.Join(testenv.RepoRoot(), "charts", "roomsync") }

// TestHelmChartIsAcceptedByTheAPIServer renders the chart with its defaults
// and with every option on, and applies both to the API server.
func TestHelmChartIsAcceptedByTheAPIServer(t *testing.T) {
	kubectl(t, "apply", "-f", filepath.Join("testdata", "crds", "standins.yaml"))
	kubectl(t, "wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com",
		"crd/certificates.cert-manager.io")
	for _, tc := range []struct {
		release, namespace string
		values             []string
		want               []string
	}{
		{release: "rs", namespace: "helm-defaults", want: []string{
			"deployment.apps/rs-roomsync", "service/rs-roomsync-callback", "service/rs-roomsync-metrics",
			"clusterrole.rbac.authorization.k8s.io/rs-roomsync-manager", "role.rbac.authorization.k8s.io/rs-roomsync-leader-election",
			"poddisruptionbudget.policy/rs-roomsync", "customresourcedefinition.apiextensions.k8s.io/chatapps.chat.roomsync.io",
			"clusterrole.rbac.authorization.k8s.io/rs-roomsync-aggregate-to-view",
		}},
		{release: "all", namespace: "helm-all", values: []string{filepath.Join("testdata", "helm-all-options.yaml")}, want: []string{
			"certificate.cert-manager.io/all-roomsync-callback", "ingress.networking.k8s.io/all-roomsync-callback",
			"servicemonitor.monitoring.coreos.com/all-roomsync", "prometheusrule.monitoring.coreos.com/all-roomsync", "configmap/all-roomsync-dashboard",
			"networkpolicy.networking.k8s.io/all-roomsync", "secret/all-roomsync-main-callback", "chatapp.chat.roomsync.io/main",
			"serviceaccount/roomsync-all", "rolebinding.rbac.authorization.k8s.io/all-roomsync-manager",
			"clusterrole.rbac.authorization.k8s.io/all-roomsync-metrics-auth",
		}},
	} {
		t.Run(tc.release, func(t *testing.T) {
			args := []string{"lint", chartDir()}
			for _, v := range tc.values {
				args = append(args, "-f", v)
			}
			if out, err := helm(t, args...); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			args = []string{"template", tc.release, chartDir(), "--namespace", tc.namespace}
			for _, v := range tc.values {
				args = append(args, "-f", v)
			}
			rendered, err := helm(t, args...)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, rendered)
			}
			if !strings.Contains(rendered, "helm.sh/resource-policy: keep") {
				t.Error("the CRDs are not kept on uninstall")
			}
			file := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(file, []byte(rendered), 0o600); err != nil {
				t.Fatal(err)
			}
			kubectl(t, "create", "namespace", tc.namespace)
			out := kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", file)
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("%s was not applied:\n%s", want, out)
				}
			}
			// Its Pods are scheduled on the fake nodes and become Ready.
			waitDeploymentAvailable(t, tc.namespace, tc.release+"-roomsync", tc.release+"-roomsync")
		})
	}
}

func TestHelmValuesSchemaRejectsTypos(t *testing.T) {
	for _, set := range []string{"replicaCount=2", "callback.tls.certmanager.enabled=true", "logLevel=verbose", "callback.timeout=soon"} {
		if out, err := helm(t, "template", "x", chartDir(), "--set", set); err == nil {
			t.Errorf("--set %s was accepted:\n%.300s", set, out)
		} else if !strings.Contains(out, "values don't meet the specifications of the schema") {
			t.Errorf("--set %s: the error does not come from the schema:\n%s", set, out)
		}
	}
}

// TestHelmChartCopiesAreInSync: the chart's CRDs and manager rules are the
// generated ones, copied by `make manifests`; an edit on either side shows.
func TestHelmChartCopiesAreInSync(t *testing.T) {
	pairs := map[string]string{
		"config/rbac/role.yaml":        "charts/roomsync/files/rbac/role.yaml",
		"config/prometheus/rules.yaml": "charts/roomsync/files/prometheus/rules.yaml",
	}
	crds, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	for _, crd := range crds {
		pairs[filepath.Join("config", "crd", "bases", filepath.Base(crd))] = filepath.Join("charts", "roomsync", "files", "crds", filepath.Base(crd))
	}
	for src, copy := range pairs {
		a, errA := os.ReadFile(filepath.Join(testenv.RepoRoot(), src))
		b, errB := os.ReadFile(filepath.Join(testenv.RepoRoot(), copy))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s (%v, %v): run `make manifests`", copy, src, errA, errB)
		}
	}
}

// TestHelmChartRefusesAnUnsignedChatApp: the chart's ChatApp needs a
// callback token unless the administrator allows unsigned callbacks, which
// the chart then passes to the operator.
func TestHelmChartRefusesAnUnsignedChatApp(t *testing.T) {
	unsigned := []string{"--set", "chatApp.enabled=true", "--set", "chatApp.sdkAppID=1400000001"}
	out, err := helm(t, append([]string{"template", "x", chartDir()}, unsigned...)...)
	if err == nil || !strings.Contains(out, "chatApp.token") {
		t.Fatalf("a ChatApp without a token was rendered (err %v):\n%.300s", err, out)
	}
	out, err = helm(t, append([]string{"template", "x", chartDir(), "--set", "allowUnsignedCallbacks=true"}, unsigned...)...)
	if err != nil {
		t.Fatalf("with allowUnsignedCallbacks: %v\n%s", err, out)
	}
	if !strings.Contains(out, "--allow-unsigned-callbacks") || !strings.Contains(out, "kind: ChatApp") {
		t.Errorf("allowUnsignedCallbacks=true does not render the flag and the ChatApp:\n%s", out)
	}
	out, err = helm(t, "template", "x", chartDir())
	if err != nil || strings.Contains(out, "--allow-unsigned-callbacks") {
		t.Errorf("the defaults allow unsigned callbacks, or do not render (err %v)", err)
	}
}
