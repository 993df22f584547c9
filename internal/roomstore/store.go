// Package roomstore is where a callback becomes a Room: it finds the Room
// that mirrors a Tencent room (or creates it), applies the event to the
// Room's status by the rules of transition (event.go), and writes the result.
//
// Writes are JSON merge patches of the status subresource that carry the
// resourceVersion that was read, so an event is only ever applied on top of
// the state it was compared with:
// concurrent callbacks, on this replica or another, never let an older event
// overwrite a newer one. Within one process, callbacks for one room are
// committed in groups, one write at a time (queue.go), so they do not spend
// their time budget on conflicts, and a busy room costs few writes.
package roomstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// FieldManager is the field manager of the receiver's writes. It owns the
// part of a Room's status that describes the room (room info, phase,
// destroyed, members, seats and the last* fields), and a ChatApp's
// status.lastCallbackTime.
const FieldManager = "roomsync-callback-receiver"

// maxAttempts bounds the find-compare-write loop; the caller's deadline
// usually ends it first.
const maxAttempts = 8

// Outcome says what happened to an event.
type Outcome string

const (
	// Applied: the event was written into the Room's status.
	Applied Outcome = "applied"
	// Stale: the Room already holds a newer event; nothing was written.
	Stale Outcome = "stale"
	// UnknownRoom: no Room mirrors the room, and the event may not create
	// one (only room-info events may, and only when the ChatApp allows it);
	// nothing was written.
	UnknownRoom Outcome = "unknown_room"
)

// ErrNameTaken is returned when the Room a callback would create has the
// name of an existing Room that mirrors another room.
var ErrNameTaken = errors.New("room name taken")

// The receiver creates Rooms and writes their room info.
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=chat.roomsync.io,resources=rooms/status,verbs=patch

// Store writes callbacks into Rooms.
type Store struct {
	// client writes to the API server.
	client client.Client
	// finder finds the Room that holds a room: a RoomIndex, which knows
	// every Room's identity but not its status.
	finder lookup.RoomFinder
	// apiReader reads from the API server directly: the Room to write into,
	// unless this Store wrote it last (written).
	apiReader client.Reader
	queues    queues
	written   written
}

// New returns a Store that writes with c, finds Rooms with finder and reads
// them with apiReader, which should read from the API server.
func New(c client.Client, finder lookup.RoomFinder, apiReader client.Reader) *Store {
	return &Store{client: c, finder: finder, apiReader: apiReader, written: newWritten()}
}

// Apply mirrors ev into the Room for ev.RoomID in app's namespace. A
// room-info event for a room with no Room creates one when app allows it,
// unless the room was deleted after a destroy newer than the event. It
// returns only after the write has been accepted by the API server (or was
// not needed), so Applied means stored. Errors are the API server's, or
// ctx's when its deadline passed first; ErrNameTaken when the Room cannot be
// created.
//
// Events for a room that arrive while a write for it is in flight are
// written together in the next write (see queue.go).
func (s *Store) Apply(ctx context.Context, app *chatv1alpha1.ChatApp, ev Event) (Outcome, error) {
	outcomes, err := s.ApplyAll(ctx, app, []Event{ev})
	if err != nil {
		return "", err
	}
	return outcomes[0], nil
}

// ApplyAll is Apply for several events of one room (evs must all have the
// same RoomID): they are queued together, so they share a write unless the
// room's queue is longer than one write takes. It returns each event's
// outcome, or the first error.
func (s *Store) ApplyAll(ctx context.Context, app *chatv1alpha1.ChatApp, evs []Event) ([]Outcome, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	roomID := evs[0].RoomID
	reqs := make([]*request, len(evs))
	for i, ev := range evs {
		if ev.RoomID != roomID {
			return nil, fmt.Errorf("ApplyAll: events of rooms %q and %q in one call", roomID, ev.RoomID)
		}
		reqs[i] = &request{ctx: ctx, app: app, ev: ev, done: make(chan result, 1)}
	}
	key := RoomKey(app, roomID)
	if s.queues.add(key, reqs...) {
		go s.commit(key)
	}
	outcomes := make([]Outcome, len(reqs))
	for i, r := range reqs {
		select {
		case res := <-r.done:
			if res.err != nil {
				return nil, res.err
			}
			outcomes[i] = res.outcome
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the write of room %q: %w", roomID, context.Cause(ctx))
		}
	}
	return outcomes, nil
}

// RoomKey names the room of roomID in app's namespace: events with the same
// key are ordered against each other (in the group commit, and in the spool).
func RoomKey(app *chatv1alpha1.ChatApp, roomID string) string {
	return app.Namespace + "/" + strconv.FormatInt(app.Spec.SDKAppID, 10) + "/" + roomID
}

// commit writes the queued events of the room key, a batch per write, until
// none are left.
func (s *Store) commit(key string) {
	for {
		batch, ok := s.queues.take(key)
		if !ok {
			return
		}
		if len(batch) == 0 {
			continue
		}
		// Events are applied in EventTime order, whatever order the senders'
		// connections delivered them in: within a write, an older event still
		// counts (a member leaving, say) before a newer one supersedes it.
		slices.SortStableFunc(batch, func(a, b *request) int { return cmp.Compare(a.ev.EventTime, b.ev.EventTime) })
		ctx, cancel := batchContext(batch)
		outcomes, err := s.applyBatch(ctx, batch)
		cancel()
		for i, r := range batch {
			if err != nil {
				r.done <- result{err: err}
				continue
			}
			r.done <- result{outcome: outcomes[i]}
		}
		batchSize.Observe(float64(len(batch)))
	}
}

// applyBatch applies batch's events and writes them in one write, retrying
// from a fresh read while the API server refuses in a way that another
// attempt may fix. It returns each event's outcome.
func (s *Store) applyBatch(ctx context.Context, batch []*request) ([]Outcome, error) {
	backoff := wait.Backoff{Duration: 20 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: maxAttempts, Cap: 500 * time.Millisecond}
	fresh := false
	for attempt := 1; ; attempt++ {
		outcomes, err := s.applyOnce(ctx, fresh, batch)
		if err == nil || !retriable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return outcomes, err
		}
		// What made the write fail may be newer than the Room this Store
		// wrote last: read the truth.
		fresh = true
		if !apierrors.IsConflict(err) {
			select {
			case <-time.After(backoff.Step()):
			case <-ctx.Done():
				return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
			}
		}
	}
}

// applyOnce finds the Room or creates it, applies the events of batch to its
// status in order, and writes the result once. fresh: read the Room from
// the API server even if this Store wrote it last.
func (s *Store) applyOnce(ctx context.Context, fresh bool, batch []*request) ([]Outcome, error) {
	first := batch[0]
	room, err := s.holder(ctx, first.app, first.ev.RoomID, fresh)
	if err != nil {
		return nil, err
	}

	outcomes := make([]Outcome, len(batch))
	var status chatv1alpha1.RoomStatus
	if room != nil {
		status = receiverStatus(room.Status)
	}
	changed := false
	for i, r := range batch {
		if room == nil {
			app, ev := r.app, r.ev
			if !ev.createsRoom() || (app.Spec.AutoCreateRooms != nil && !*app.Spec.AutoCreateRooms) {
				outcomes[i] = UnknownRoom
				continue
			}
			deleted, err := s.deletedAfter(ctx, app, ev)
			if err != nil {
				return nil, err
			}
			if deleted {
				outcomes[i] = Stale
				continue
			}
			if room, err = s.create(ctx, app, ev.RoomID); err != nil {
				return nil, err
			}
			status = receiverStatus(room.Status)
		}
		outcomes[i] = Stale
		if transition(&status, r.ev) {
			outcomes[i] = Applied
			changed = true
		}
	}
	if !changed {
		return outcomes, nil
	}

	written, err := s.writeStatus(ctx, room, status)
	statusWrites.WithLabelValues(writeResult(err)).Inc()
	if err != nil {
		return nil, fmt.Errorf("writing %d event(s) into Room %s/%s: %w", len(batch), room.Namespace, room.Name, err)
	}
	s.written.add(written)
	return outcomes, nil
}

// holder returns the Room that holds roomID of app, or nil when there is
// none. It is the Room as this Store last wrote it, when that is still
// current (its resourceVersion is the finder's), and otherwise as the API
// server has it. A Room the finder still knows but that has gone, or is
// being deleted, is passed over.
func (s *Store) holder(ctx context.Context, app *chatv1alpha1.ChatApp, roomID string, fresh bool) (*chatv1alpha1.Room, error) {
	refs, err := s.finder.Rooms(ctx, app.Namespace, app.Spec.SDKAppID, roomID)
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if !fresh {
			if room := s.written.current(ref); room != nil {
				return room, nil
			}
		}
		room := &chatv1alpha1.Room{}
		if err := s.apiReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, room); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("reading Room %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		if room.UID == ref.UID && room.DeletionTimestamp.IsZero() {
			return room, nil
		}
	}
	return nil, nil
}

// writeStatus writes st, the receiver's part of room's status, and returns
// the Room as the write left it. The API server answers with the Room's
// metadata only (not the whole object, which would cost both sides a
// decode): the write was made on exactly the resourceVersion that was read,
// so the Room is now what was read, with st as the receiver's part.
func (s *Store) writeStatus(ctx context.Context, room *chatv1alpha1.Room, st chatv1alpha1.RoomStatus) (*chatv1alpha1.Room, error) {
	patch, err := statusPatch(room, st)
	if err != nil {
		return nil, fmt.Errorf("computing the write into Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	meta := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: room.Namespace, Name: room.Name}}
	meta.SetGroupVersionKind(chatv1alpha1.GroupVersion.WithKind("Room"))
	if err := s.client.Status().Patch(ctx, meta, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager)); err != nil {
		return nil, err
	}
	written := &chatv1alpha1.Room{ObjectMeta: meta.ObjectMeta, Spec: room.Spec, Status: withControllersPart(st, room.Status)}
	return written.DeepCopy(), nil
}

// statusPatch returns the write of st into room's status: a JSON merge patch
// of what changed in the receiver's part, on the condition that the Room is
// still at the resourceVersion that was read.
func statusPatch(room *chatv1alpha1.Room, st chatv1alpha1.RoomStatus) ([]byte, error) {
	before, err := json.Marshal(receiverStatus(room.Status))
	if err != nil {
		return nil, err
	}
	after, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	diff, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": room.ResourceVersion},
		"status":   json.RawMessage(diff),
	})
}

// deletedAfter reports whether app records that the Room for ev's room was
// deleted, after its retention, following a destroy at least as new as ev:
// a late event must not bring it back. The record is read from the API
// server: the cache may have seen the Room go before it saw the record.
func (s *Store) deletedAfter(ctx context.Context, app *chatv1alpha1.ChatApp, ev Event) (bool, error) {
	current := &chatv1alpha1.ChatApp{}
	if err := s.apiReader.Get(ctx, client.ObjectKeyFromObject(app), current); err != nil {
		return false, fmt.Errorf("reading ChatApp %s/%s: %w", app.Namespace, app.Name, err)
	}
	for _, d := range current.Status.DeletedRooms {
		if d.RoomID == ev.RoomID && d.DestroyEventTime >= ev.EventTime {
			return true, nil
		}
	}
	return false, nil
}

// create creates the Room for roomID under its derived name. When a Room of
// that name already exists (another replica created it a moment ago, and the
// cache has not seen it yet) that Room is used if it mirrors the same room.
func (s *Store) create(ctx context.Context, app *chatv1alpha1.ChatApp, roomID string) (*chatv1alpha1.Room, error) {
	room := &chatv1alpha1.Room{
		ObjectMeta: metav1.ObjectMeta{
			Name:      NameFor(roomID),
			Namespace: app.Namespace,
			Labels: map[string]string{
				chatv1alpha1.SDKAppIDLabel:  strconv.FormatInt(app.Spec.SDKAppID, 10),
				chatv1alpha1.CreatedByLabel: chatv1alpha1.CreatedByCallback,
			},
		},
		Spec: chatv1alpha1.RoomSpec{SDKAppID: app.Spec.SDKAppID, RoomID: roomID},
	}
	err := s.client.Create(ctx, room, client.FieldOwner(FieldManager))
	if err == nil {
		return room, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	existing := &chatv1alpha1.Room{}
	if err := s.apiReader.Get(ctx, client.ObjectKeyFromObject(room), existing); err != nil {
		return nil, fmt.Errorf("reading Room %s/%s: %w", room.Namespace, room.Name, err)
	}
	if existing.Spec.SDKAppID != app.Spec.SDKAppID || existing.Spec.RoomID != roomID {
		return nil, fmt.Errorf("%w: Room %s/%s for room %q mirrors room %q of sdkAppID %d",
			ErrNameTaken, room.Namespace, room.Name, roomID, existing.Spec.RoomID, existing.Spec.SDKAppID)
	}
	return existing, nil
}

// receiverStatus is the part of st the receiver owns: everything but what
// the controllers write. The receiver's patches are computed between two of
// these, so they never touch the controllers' fields.
func receiverStatus(st chatv1alpha1.RoomStatus) chatv1alpha1.RoomStatus {
	return withControllersPart(*st.DeepCopy(), chatv1alpha1.RoomStatus{})
}

// withControllersPart returns st with the controllers' part of the status
// taken from from.
func withControllersPart(st, from chatv1alpha1.RoomStatus) chatv1alpha1.RoomStatus {
	st.ObservedGeneration = from.ObservedGeneration // the Room controller's
	st.Conditions = from.Conditions                 // the controllers'
	st.Recording = from.Recording                   // the recording controller's
	st.Resync = from.Resync                         // the resync controller's
	st.Management = from.Management                 // the room management controller's
	return st
}

// retriable reports whether another attempt may succeed: the Room changed
// or went away under us, or the API server could not take the request now.
func retriable(err error) bool {
	switch {
	case errors.Is(err, ErrNameTaken),
		apierrors.IsInvalid(err),
		apierrors.IsBadRequest(err),
		apierrors.IsForbidden(err),
		apierrors.IsUnauthorized(err),
		apierrors.IsMethodNotSupported(err),
		apierrors.IsNotAcceptable(err),
		apierrors.IsUnsupportedMediaType(err),
		apierrors.IsRequestEntityTooLargeError(err):
		return false
	}
	return true
}
