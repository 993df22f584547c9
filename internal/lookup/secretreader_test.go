package lookup

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// apiServer is a client.Reader over a fake client that counts reads and
// can be made unreachable.
type apiServer struct {
	client.Reader
	reads atomic.Int32
	down  atomic.Bool
}

func (a *apiServer) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	a.reads.Add(1)
	if a.down.Load() {
		return errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	}
	return a.Reader.Get(ctx, key, obj, opts...)
}

// TestSecretReaderKeepsWhatItReadAndRenewsItInTheBackground is the pure
// logic of reading unlabelled Secrets: one API read, then the kept copy;
// after the TTL the kept copy at once while one read renews it; during an
// outage the last copy, never an error.
func TestSecretReaderKeepsWhatItReadAndRenewsItInTheBackground(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "chat", Name: "legacy"}, Data: map[string][]byte{"token": []byte("v1")}}
	backing := fake.NewClientBuilder().WithObjects(secret).Build()
	api := &apiServer{Reader: backing}
	now := time.Unix(1000, 0)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	r := &SecretReader{Cache: fake.NewClientBuilder().Build(), API: api, TTL: time.Minute, Now: func() time.Time { return *clock.Load() }}
	key := client.ObjectKeyFromObject(secret)
	token := func() string {
		t.Helper()
		got := &corev1.Secret{}
		if err := r.Get(context.Background(), key, got); err != nil {
			t.Fatalf("Get: %v", err)
		}
		return string(got.Data["token"])
	}
	advance := func(d time.Duration) { next := clock.Load().Add(d); clock.Store(&next) }
	// waitReads waits until n API reads have been made and the renewal
	// they belong to is over (its result kept): a read is counted when it
	// starts.
	renewing := func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		last, ok := r.read[key]
		return ok && last.renewing
	}
	waitReads := func(n int32) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); api.reads.Load() < n || renewing(); {
			if time.Now().After(deadline) {
				t.Fatalf("%d API reads, want %d", api.reads.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	for range 2 {
		if got := token(); got != "v1" {
			t.Fatalf("token %q, want v1", got)
		}
	}
	if n := api.reads.Load(); n != 1 {
		t.Fatalf("%d API reads for two Gets, want 1", n)
	}
	secret.Data["token"] = []byte("v2")
	if err := backing.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Minute)
	if got := token(); got != "v1" {
		t.Errorf("after the TTL: %q, want the kept v1 at once", got)
	}
	waitReads(2)
	if got := token(); got != "v2" {
		t.Errorf("after the renewal: %q, want v2", got)
	}

	api.down.Store(true)
	advance(2 * time.Minute)
	for range 3 {
		if got := token(); got != "v2" {
			t.Errorf("during an outage: %q, want the last copy v2", got)
		}
	}
	waitReads(3)
	time.Sleep(10 * time.Millisecond)
	if n := api.reads.Load(); n != 3 {
		t.Errorf("%d API reads during the outage's TTL, want one renewal at a time", n)
	}

	api.down.Store(false)
	if err := backing.Delete(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Minute)
	_ = token() // the kept copy, and a renewal that finds it gone
	waitReads(4)
	time.Sleep(10 * time.Millisecond)
	if err := r.Get(context.Background(), key, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the Secret was deleted: %v, want NotFound", err)
	}
}
