package namespaced

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/testenv"
)

// TestInstallsShardByNamespace runs a second install beside the first, as
// "Several installs in one cluster" in docs/install.md describes: its own
// namespace, its own --watch-namespaces and its own callback URL. The same
// sdkAppID has a ChatApp in each shard's namespace. Each install leads its
// own shard, and a callback goes into the Rooms of the shard whose URL it
// was sent to, and only there.
func TestInstallsShardByNamespace(t *testing.T) {
	const (
		shardSystem = "roomsync-shard-b"
		shardChat   = "chat-b"
		sdkAppID    = 1400000601
	)
	ctx := context.Background()
	for _, ns := range []string{shardSystem, shardChat} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := filepath.Join(dir, "shard-b-kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	opCtx, stop := context.WithCancel(ctx)
	defer stop()
	shard, err := testenv.StartOperator(opCtx, binary, kubeconfig, "--metrics-secure=false",
		"--watch-namespaces="+shardChat, "--leader-elect", "--leader-election-namespace", shardSystem,
		"--spool-dir", filepath.Join(dir, "shard-b-spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer shard.Stop()

	newApp(t, watched, sdkAppID)
	newApp(t, shardChat, sdkAppID)
	for _, op := range []*testenv.Operator{operator, shard} {
		waitFor(t, "each install leads its own shard", func() bool {
			m, err := op.Metrics()
			return err == nil && strings.Contains(m, `leader_election_master_status{name="roomsync.chat.roomsync.io"} 1`+"\n")
		})
	}

	if status := sendTo(t, operator.CallbackURL, sdkAppID, "rid-shard", "in shard a"); status != http.StatusOK {
		t.Fatalf("shard a answered %d, want 200", status)
	}
	if status := sendTo(t, shard.CallbackURL, sdkAppID, "rid-shard", "in shard b"); status != http.StatusOK {
		t.Fatalf("shard b answered %d, want 200; its log:\n%s", status, shard.Log)
	}
	for _, want := range []struct{ namespace, roomName string }{{watched, "in shard a"}, {shardChat, "in shard b"}} {
		waitFor(t, "each shard's Room holds its own callback", func() bool {
			room := &chatv1alpha1.Room{}
			return env.Client.Get(ctx, client.ObjectKey{Namespace: want.namespace, Name: roomstore.NameFor("rid-shard")}, room) == nil &&
				room.Status.RoomName == want.roomName
		})
	}

	// An app only the first shard has is unknown to the second.
	app := newApp(t, other, 1400000602)
	if status := sendTo(t, shard.CallbackURL, app.Spec.SDKAppID, "rid-elsewhere", "nowhere"); status != http.StatusUnauthorized {
		t.Errorf("shard b answered %d for an app outside its namespaces, want 401", status)
	}
}
