// Package namespaced runs the built roomsync binary as the namespace-scoped
// install runs it (config/overlays/namespaced): with --watch-namespaces=chat
// and only the permissions that overlay grants its ServiceAccount, read from
// its files. roomsync must serve its ChatApps there, leave a ChatApp in
// another namespace alone, and hold no permission on Secrets outside chat.
package namespaced

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
	"github.com/roomsync/roomsync/internal/testenv"
)

const (
	// The names config/overlays/namespaced uses.
	systemNS       = "roomsync-system"
	serviceAccount = "roomsync-controller-manager"
	watched        = "chat"
	// other is a namespace roomsync does not watch.
	other = "other-team"
	token = "namespaced-token"
)

var (
	env      *testenv.Env
	operator *testenv.Operator
	// binary is the built operator; dir holds what the tests write.
	binary, dir string
	// serviceAccountUser is who the operator acts as.
	serviceAccountUser = "system:serviceaccount:" + systemNS + ":" + serviceAccount
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, func(ctx context.Context) error {
		var err error
		if dir, err = os.MkdirTemp("", "roomsync-namespaced-"); err != nil {
			return err
		}
		binary, err = testenv.BuildOperator(dir)
		if err != nil {
			return err
		}
		kubeconfig, err := installNamespacedRBAC(ctx, dir)
		if err != nil {
			return err
		}
		operator, err = testenv.StartOperator(ctx, binary, kubeconfig, "--metrics-secure=false",
			"--watch-namespaces="+watched, "--leader-elect", "--leader-election-namespace", systemNS,
			"--spool-dir", filepath.Join(dir, "spool"))
		return err
	}))
}

// readManifests reads the objects of a YAML file of the repository.
func readManifests(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), path))
	if err != nil {
		return nil, err
	}
	var objs []map[string]any
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// decode converts a manifest into obj.
func decode(manifest map[string]any, obj client.Object) error {
	data, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, obj)
}

// installNamespacedRBAC grants the ServiceAccount what the namespaced
// overlay grants, from its files and the files it builds on, and returns a
// kubeconfig that acts as that ServiceAccount.
func installNamespacedRBAC(ctx context.Context, dir string) (string, error) {
	var objs []client.Object
	for _, ns := range []string{systemNS, watched, other} {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	objs = append(objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: serviceAccount}})

	// The manager's rules, as kustomize names them in config/default.
	managerRole := &rbacv1.ClusterRole{}
	roles, err := readManifests("config/rbac/role.yaml")
	if err != nil {
		return "", err
	}
	if err := decode(roles[0], managerRole); err != nil {
		return "", err
	}
	managerRole.Name = "roomsync-" + managerRole.Name
	leaderRole := &rbacv1.Role{}
	leader, err := readManifests("config/rbac/leader_election_role.yaml")
	if err != nil {
		return "", err
	}
	if err := decode(leader[0], leaderRole); err != nil {
		return "", err
	}
	leaderRole.Name, leaderRole.Namespace = "roomsync-"+leaderRole.Name, systemNS
	objs = append(objs, managerRole, leaderRole, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: "roomsync-leader-election"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: leaderRole.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: systemNS, Name: serviceAccount}},
	})

	// What the overlay adds.
	for _, file := range []string{"config/overlays/namespaced/rolebinding.yaml", "config/overlays/namespaced/metrics_auth_role.yaml"} {
		manifests, err := readManifests(file)
		if err != nil {
			return "", err
		}
		for _, m := range manifests {
			var obj client.Object
			switch m["kind"] {
			case "RoleBinding":
				obj = &rbacv1.RoleBinding{}
			case "ClusterRole":
				obj = &rbacv1.ClusterRole{}
			case "ClusterRoleBinding":
				obj = &rbacv1.ClusterRoleBinding{}
			default:
				return "", fmt.Errorf("%s: unexpected kind %v", file, m["kind"])
			}
			if err := decode(m, obj); err != nil {
				return "", err
			}
			objs = append(objs, obj)
		}
	}
	for _, obj := range objs {
		if err := env.Client.Create(ctx, obj); err != nil {
			return "", fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}

	path := filepath.Join(dir, "operator-kubeconfig")
	return path, env.WriteKubeconfigAs(systemNS, serviceAccount, path)
}

// newApp creates a signed ChatApp in ns.
func newApp(t *testing.T, ns string, sdkAppID int64) *chatv1alpha1.ChatApp {
	t.Helper()
	name := fmt.Sprintf("app-%d", sdkAppID)
	app := &chatv1alpha1.ChatApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: chatv1alpha1.ChatAppSpec{SDKAppID: sdkAppID}}
	app.Spec.CallbackAuth = &chatv1alpha1.CallbackAuth{TokenSecretRef: chatv1alpha1.TokenSecretReference{Name: name + "-callback"}}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-callback", Labels: map[string]string{chatv1alpha1.SecretLabel: "true"}},
		StringData: map[string]string{"token": token},
	}
	for _, obj := range []client.Object{secret, app} {
		if err := env.Client.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// send posts a signed update callback for roomID to the operator and
// returns the HTTP status.
func send(t *testing.T, sdkAppID int64, roomID string) int {
	t.Helper()
	return sendTo(t, operator.CallbackURL, sdkAppID, roomID, "weekly")
}

// sendTo posts a signed update callback for roomID, naming it roomName, to
// url and returns the HTTP status.
func sendTo(t *testing.T, url string, sdkAppID int64, roomID, roomName string) int {
	t.Helper()
	body := fmt.Sprintf(`{"CallbackCommand":%q,"EventTime":%d,"RoomInfo":{"RoomId":%q,"RoomName":%q}}`,
		tencent.CommandAfterUpdateRoomInfo, time.Now().UnixMilli(), roomID, roomName)
	q := tencent.CallbackQuery{SDKAppID: sdkAppID, Command: tencent.CommandAfterUpdateRoomInfo, Token: token}
	resp, err := http.Post(url+"?"+q.Encode(time.Now()), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; operator log:\n%s", what, operator.Log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestServesTheWatchedNamespace(t *testing.T) {
	app := newApp(t, watched, 1400000501)
	waitFor(t, "the ChatApp in the watched namespace is Ready", func() bool {
		got := &chatv1alpha1.ChatApp{}
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), got) == nil &&
			meta.IsStatusConditionTrue(got.Status.Conditions, chatv1alpha1.ReadyCondition)
	})
	if status := send(t, app.Spec.SDKAppID, "rid-ns"); status != http.StatusOK {
		t.Fatalf("callback answered %d, want 200", status)
	}
	room := &chatv1alpha1.Room{}
	waitFor(t, "the callback's Room is Ready", func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: watched, Name: roomstore.NameFor("rid-ns")}, room) == nil &&
			room.Status.RoomName == "weekly" && meta.IsStatusConditionTrue(room.Status.Conditions, chatv1alpha1.ReadyCondition)
	})
}

func TestLeavesAnotherNamespaceAlone(t *testing.T) {
	app := newApp(t, other, 1400000502)
	if status := send(t, app.Spec.SDKAppID, "rid-other"); status != http.StatusUnauthorized {
		t.Errorf("callback for a ChatApp outside the watched namespaces answered %d, want 401 (no ChatApp holds it, and an unknown app is not told apart from a bad Sign)", status)
	}
	time.Sleep(3 * time.Second) // time for a reconcile, if one were coming
	got := &chatv1alpha1.ChatApp{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.ObservedGeneration != -1 || len(got.Status.Conditions) != 0 {
		t.Errorf("the ChatApp outside the watched namespaces was reconciled: %+v", got.Status)
	}
	rooms := &chatv1alpha1.RoomList{}
	if err := env.Client.List(context.Background(), rooms, client.InNamespace(other)); err != nil {
		t.Fatal(err)
	}
	if len(rooms.Items) != 0 {
		t.Errorf("%d Rooms were created outside the watched namespaces", len(rooms.Items))
	}
	if log := operator.Log.String(); strings.Contains(strings.ToLower(log), "forbidden") {
		t.Errorf("the operator met a permission it does not have:\n%s", log)
	}
}

// TestNoPermissionOnSecretsOutsideTheWatchedNamespaces asks the API server
// what the operator's ServiceAccount may do.
func TestNoPermissionOnSecretsOutsideTheWatchedNamespaces(t *testing.T) {
	for _, tc := range []struct {
		namespace, verb, group, resource string
		allowed                          bool
	}{
		{watched, "list", "", "secrets", true},
		{watched, "watch", "", "secrets", true},
		{watched, "patch", "chat.roomsync.io", "rooms/status", true},
		{other, "get", "", "secrets", false},
		{"", "list", "", "secrets", false}, // every namespace
		{"", "watch", "", "secrets", false},
		{"", "list", "chat.roomsync.io", "chatapps", false},
		{"", "list", "chat.roomsync.io", "rooms", false},
		{other, "list", "batch", "jobs", false},
		{systemNS, "get", "", "secrets", false},
	} {
		resource, sub, _ := strings.Cut(tc.resource, "/")
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   serviceAccountUser,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + systemNS, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: tc.namespace, Verb: tc.verb, Group: tc.group, Resource: resource, Subresource: sub,
			},
		}}
		if err := env.Client.Create(context.Background(), review); err != nil {
			t.Fatal(err)
		}
		if review.Status.Allowed != tc.allowed {
			where := tc.namespace
			if where == "" {
				where = "all namespaces"
			}
			t.Errorf("%s %s/%s in %s: allowed %v, want %v", tc.verb, tc.group, tc.resource, where, review.Status.Allowed, tc.allowed)
		}
	}
}
