package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// ServingLeaseName is the Lease, in the operator's namespace, that the
// replicas renew while they serve callbacks.
const ServingLeaseName = "roomsync-serving"

// ServingRecord keeps a record of when callbacks were served, so that
// roomsync knows when it may have missed some: Tencent does not resend a
// callback nobody answered. Every replica renews one Lease while it runs
// (holderIdentity is the last to renew it, renewTime when) and, on a
// graceful stop, leaves it with no holder and the moment it stopped. A
// replica that starts while no other one is serving (the Lease has no
// holder, or was not renewed for its leaseDurationSeconds) asks every
// ChatApp with a REST API for a catch-up since the Lease's renewTime:
// status.resync.catchUp, which the resync acts on.
//
// The record errs on the safe side: a replica that starts while another is
// stopping sees no holder and asks for a catch-up that was not needed. The
// other way, one that starts within leaseDurationSeconds of a crash of the
// last replica takes it as still serving; the sweep heals those Rooms in
// its turn.
type ServingRecord struct {
	// Client writes the Lease and the ChatApps' status, and lists the
	// ChatApps (from the cache).
	Client client.Client
	// APIReader reads the Lease: Leases are not cached.
	APIReader client.Reader
	// Namespace holds the Lease: the operator's own.
	Namespace string
	// Identity names this replica in the Lease.
	Identity string
	// Renew is how often the Lease is renewed (5 s when zero); it counts
	// as unrenewed after three times that.
	Renew time.Duration
	Log   logr.Logger
}

// NeedLeaderElection is false: every replica serves callbacks.
func (s *ServingRecord) NeedLeaderElection() bool { return false }

// Start checks the record, asks for catch-ups when no replica was serving,
// then renews the Lease until ctx ends and leaves it released.
func (s *ServingRecord) Start(ctx context.Context) error {
	if s.Renew <= 0 {
		s.Renew = 5 * time.Second
	}
	since, unserved, err := s.check(ctx)
	switch {
	case apierrors.IsForbidden(err):
		s.Log.Error(err, "roomsync may not write the record of served callbacks: no catch-up will be asked for when it starts after no replica served; grant it the Leases of its namespace (config/rbac/leader_election_role.yaml)",
			"lease", ServingLeaseName, "namespace", s.Namespace)
		return nil
	case err != nil:
		// Without a record, better no catch-up than a failed start: the
		// sweep still heals every Room in its turn.
		s.Log.Error(err, "Reading the record of served callbacks; no catch-up is asked for", "lease", ServingLeaseName, "namespace", s.Namespace)
	case unserved:
		s.Log.Info("No replica was serving callbacks: asking every ChatApp with a REST API to catch up", "since", since)
		if err := s.askCatchUp(ctx, since); err != nil && ctx.Err() == nil {
			s.Log.Error(err, "Asking the ChatApps to catch up", "since", since)
		}
	}
	ticker := time.NewTicker(s.Renew)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			// The context is done: release with one of its own.
			stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.write(stop, false); err != nil {
				s.Log.Error(err, "Releasing the record of served callbacks")
			}
			return nil
		case <-ticker.C:
			if err := s.write(ctx, true); err != nil && ctx.Err() == nil {
				s.Log.Error(err, "Renewing the record of served callbacks")
			}
		}
	}
}

// check reads the Lease and renews it for this replica. It reports whether
// no other replica was serving, and since when.
func (s *ServingRecord) check(ctx context.Context) (time.Time, bool, error) {
	now := time.Now()
	lease := &coordinationv1.Lease{}
	err := s.APIReader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ServingLeaseName}, lease)
	if apierrors.IsNotFound(err) {
		// No replica ever recorded serving (a first install, or an upgrade
		// from a version without the record): catch up on the Rooms active
		// lately.
		return now, true, s.write(ctx, true)
	}
	if err != nil {
		return time.Time{}, false, err
	}
	since := lease.CreationTimestamp.Time
	if lease.Spec.RenewTime != nil {
		since = lease.Spec.RenewTime.Time
	}
	serving := ptr.Deref(lease.Spec.HolderIdentity, "") != "" && now.Sub(since) < 3*s.Renew
	if err := s.write(ctx, true); err != nil {
		return time.Time{}, false, err
	}
	return since, !serving, nil
}

// write renews the Lease for this replica, or releases it (no holder,
// renewTime now: the last moment served).
func (s *ServingRecord) write(ctx context.Context, hold bool) error {
	spec := coordinationv1.LeaseSpec{
		RenewTime:            &metav1.MicroTime{Time: time.Now()},
		LeaseDurationSeconds: ptr.To(int32((3 * s.Renew).Seconds())),
	}
	if hold {
		spec.HolderIdentity = ptr.To(s.Identity)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease := &coordinationv1.Lease{}
		err := s.APIReader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ServingLeaseName}, lease)
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: ServingLeaseName}, Spec: spec}
			if err := s.Client.Create(ctx, lease); !apierrors.IsAlreadyExists(err) {
				return err
			}
			return apierrors.NewConflict(coordinationv1.Resource("leases"), ServingLeaseName, errors.New("created meanwhile"))
		}
		if err != nil {
			return err
		}
		if !hold && ptr.Deref(lease.Spec.HolderIdentity, "") != s.Identity {
			return nil // another replica renewed it since: it serves
		}
		lease.Spec = spec
		return s.Client.Update(ctx, lease)
	})
}

// askCatchUp asks every ChatApp with a REST API for a catch-up since since.
func (s *ServingRecord) askCatchUp(ctx context.Context, since time.Time) error {
	apps := &chatv1alpha1.ChatAppList{}
	if err := s.Client.List(ctx, apps); err != nil {
		return fmt.Errorf("listing the ChatApps: %w", err)
	}
	var errs []error
	for i := range apps.Items {
		if apps.Items[i].Spec.RestAPI == nil {
			continue
		}
		key := client.ObjectKeyFromObject(&apps.Items[i])
		if err := askCatchUp(ctx, s.Client, s.APIReader, key, &since, nil, chatv1alpha1.NoReplicaServingReason); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
