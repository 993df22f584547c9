package controllers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/roomsync/roomsync/internal/lookup"
	"github.com/roomsync/roomsync/internal/roomstore"
)

// Config is what the controllers are set up with: the parts they share
// with the callback receiver, and what the operator's flags decide.
type Config struct {
	// Rooms is the replica's index of every Room (AddRoomIndex); a
	// catch-up plans from it.
	Rooms *lookup.RoomIndex
	// Store writes events into Rooms: callbacks and resyncs take turns
	// in it, whichever way an event came.
	Store *roomstore.Store
	// Secrets reads the ChatApps' Secrets (lookup.SecretReader).
	Secrets client.Reader
	// AllowUnsignedCallbacks is --allow-unsigned-callbacks.
	AllowUnsignedCallbacks bool
	// Instance names this install in the Rooms it manages.
	Instance string
	// Watched are the namespaces of --watch-namespaces; nil: every one.
	Watched map[string]bool
	// ServingNamespace holds the Lease in which each replica records that
	// it serves callbacks, as Identity, and the record of active Rooms.
	ServingNamespace, Identity string
}

// AddRoomIndex adds to mgr the replica's index of the Rooms in namespaces
// (nil: every namespace), from which the receiver finds Rooms and a
// catch-up plans, and makes the elected replica stream whole Rooms into
// its cache only once that index has them all (RoomsAfter): one stream at
// a time is the faster way to an index a catch-up can plan from.
func AddRoomIndex(mgr ctrl.Manager, namespaces []string) (*lookup.RoomIndex, error) {
	rooms, err := lookup.NewRoomIndex(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), namespaces, mgr.GetAPIReader())
	if err != nil {
		return nil, fmt.Errorf("setting up the Room index: %w", err)
	}
	if err := mgr.Add(rooms); err != nil {
		return nil, fmt.Errorf("adding the Room index: %w", err)
	}
	RoomsAfter(mgr.GetCache(), rooms.WaitForSync)
	return rooms, nil
}

// SetupWithManager sets up every controller of Rooms and ChatApps, and the
// runnables beside them, with mgr; ctx bounds the resyncs. It returns the
// record of lost events, which the callback receiver and the spool report
// to: the Rooms whose events were not stored get a catch-up.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, cfg Config) (*LostEvents, error) {
	// One REST API client per ChatApp, so one request budget per app, for
	// every controller that calls Tencent.
	apis := &RESTAPIs{Secrets: cfg.Secrets, HTTP: &http.Client{Timeout: 5 * time.Second}}
	lost := &LostEvents{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Log: ctrl.Log.WithName("lost-events")}
	// The elected replica records the Rooms most recently active, for a
	// catch-up to start from before its Room index has synced.
	active := &ActiveRooms{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Index:     cfg.Rooms,
		Namespace: cfg.ServingNamespace,
		Log:       ctrl.Log.WithName("active-rooms"),
	}

	if err := (&RoomReconciler{Client: mgr.GetClient(), Secrets: cfg.Secrets}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the Room controller: %w", err)
	}
	if err := (&ChatAppReconciler{
		Client:                 mgr.GetClient(),
		Secrets:                cfg.Secrets,
		Recorder:               mgr.GetEventRecorder("roomsync-chatapp"),
		AllowUnsignedCallbacks: cfg.AllowUnsignedCallbacks,
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the ChatApp controller: %w", err)
	}
	if err := (&RecordingReconciler{
		Client:   mgr.GetClient(),
		Secrets:  cfg.Secrets,
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("roomsync-recording"),
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the recording controller: %w", err)
	}
	if err := (&ResyncReconciler{
		Client:    mgr.GetClient(),
		Store:     cfg.Store,
		Secrets:   cfg.Secrets,
		APIs:      apis,
		Index:     cfg.Rooms,
		APIReader: mgr.GetAPIReader(),
		Active:    active,
		Recorder:  mgr.GetEventRecorder("roomsync-resync"),
		Context:   ctx,
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the resync controller: %w", err)
	}
	if err := (&CallbackRegistrationReconciler{
		Client:   mgr.GetClient(),
		APIs:     apis,
		Recorder: mgr.GetEventRecorder("roomsync-callback-registration"),
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the callback registration controller: %w", err)
	}
	if err := (&RoomManagementReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Store:     cfg.Store,
		APIs:      apis,
		Recorder:  mgr.GetEventRecorder("roomsync-management"),
		Instance:  cfg.Instance,
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the room management controller: %w", err)
	}
	if err := mgr.Add(&UnwatchedRoomReleaser{
		APIReader: mgr.GetAPIReader(),
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("roomsync-management"),
		Watched:   cfg.Watched,
		Instance:  cfg.Instance,
	}); err != nil {
		return nil, fmt.Errorf("adding the release of Rooms no longer watched: %w", err)
	}
	// Every replica records that it serves callbacks; one that starts
	// after none did asks for a catch-up of the Rooms that may have missed
	// some.
	if err := mgr.Add(&ServingRecord{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Namespace: cfg.ServingNamespace,
		Identity:  cfg.Identity,
		Log:       ctrl.Log.WithName("serving-record"),
	}); err != nil {
		return nil, fmt.Errorf("adding the record of served callbacks: %w", err)
	}
	if err := mgr.Add(active); err != nil {
		return nil, fmt.Errorf("adding the record of active Rooms: %w", err)
	}
	if err := mgr.Add(lost); err != nil {
		return nil, fmt.Errorf("adding the record of lost events: %w", err)
	}
	return lost, nil
}
