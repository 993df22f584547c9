package controllers

import (
	"cmp"
	"slices"
	"strings"
	"time"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/lookup"
)

// What a resync pass reads, and in which order, decided from the Rooms
// alone: no client, no clock but now. resync.go acts on it.
//
// A Room is confirmed, kind by kind, by what roomsync last learnt from
// Tencent: its room info by a create or update callback or a read of
// get_room_info (status.lastEventTime), its member count by a member
// callback or that read (status.members.eventTime), its seats by a seat
// callback or a read of get_seat_list (status.seats.eventTime). A Room is
// as fresh as its least recently confirmed kind. A kind Tencent does not
// give for the room (no MemberCount in the answer, no seats in a room
// without them) is confirmed by the read that found it missing
// (status.resync.time). The sweep reads a Room once it has gone
// resyncInterval without confirmation, least recently confirmed first:
// Rooms whose callbacks keep arriving are never read, and the sweep's cost
// follows the Rooms that have gone quiet, within its budget, not the number
// of Rooms.

// confirmedAt is when room was last confirmed in full: the oldest of its
// kinds' confirmations, or the last read if that is later. A kind never
// confirmed (a new Room never read, whose member count is unknown) makes it
// due at once.
func confirmedAt(room *chatv1alpha1.Room) time.Time {
	st := &room.Status
	oldest := st.LastEventTime
	if st.Members != nil {
		oldest = min(oldest, st.Members.EventTime)
	} else if st.Resync == nil {
		oldest = 0 // never read: its member count is unknown
	}
	if hasSeats(room) {
		if st.Seats != nil {
			oldest = min(oldest, st.Seats.EventTime)
		} else if st.Resync == nil {
			oldest = 0
		}
	}
	t := time.UnixMilli(oldest)
	if st.Resync != nil && st.Resync.Time != nil && st.Resync.Time.After(t) {
		t = st.Resync.Time.Time
	}
	return t
}

// unconfirmedFor is how long room, confirmed at at, has gone without
// confirmation at now, counted from its creation at most.
func unconfirmedFor(room *chatv1alpha1.Room, at, now time.Time) time.Duration {
	if created := room.CreationTimestamp.Time; at.Before(created) {
		at = created
	}
	return max(now.Sub(at), 0)
}

// hasSeats reports whether the room may have seats: all rooms but those
// Tencent reports with IsSeatEnabled false.
func hasSeats(room *chatv1alpha1.Room) bool {
	return room.Status.SeatEnabled == nil || *room.Status.SeatEnabled
}

// sweepPlan is what one pass of the sweep reads.
type sweepPlan struct {
	// due are the Rooms to read, least recently confirmed first.
	due []*chatv1alpha1.Room
	// next is when the first Room not read by this pass falls due (zero
	// when every Room is read by it).
	next time.Time
	// stalest is how long the least recently confirmed live Room had gone
	// without confirmation at now: every live Room is confirmed at least
	// this often.
	stalest time.Duration
}

// planSweep plans a pass over the live rooms at now: those unconfirmed for
// interval or more, or all of them for a full pass (a resync request).
func planSweep(rooms []*chatv1alpha1.Room, now time.Time, interval time.Duration, full bool) sweepPlan {
	var plan sweepPlan
	var due []ranked
	for _, room := range rooms {
		at := confirmedAt(room)
		plan.stalest = max(plan.stalest, unconfirmedFor(room, at, now))
		if full || now.Sub(at) >= interval {
			due = append(due, ranked{room: room, rank: at.UnixMilli()})
			continue
		}
		if next := at.Add(interval); plan.next.IsZero() || next.Before(plan.next) {
			plan.next = next
		}
	}
	plan.due = inOrder(due)
	return plan
}

// ranked is a Room's place in a sweep: the lower rank first, then by name.
type ranked struct {
	room *chatv1alpha1.Room
	rank int64
}

// inOrder returns the Rooms of rs in their order.
func inOrder(rs []ranked) []*chatv1alpha1.Room {
	slices.SortFunc(rs, func(a, b ranked) int {
		if a.rank != b.rank {
			return cmp.Compare(a.rank, b.rank)
		}
		return strings.Compare(a.room.Name, b.room.Name)
	})
	out := make([]*chatv1alpha1.Room, len(rs))
	for i, r := range rs {
		out[i] = r.room
	}
	return out
}

// stillDue reports whether room, as it is now, still needs the read a pass
// planned for it: not when a callback confirmed it meanwhile (a full pass
// reads it anyway).
func stillDue(room *chatv1alpha1.Room, now time.Time, interval time.Duration, full bool) bool {
	return full || now.Sub(confirmedAt(room)) >= interval
}

// planCatchUp plans a catch-up of what cu asks: the Rooms it names (rooms
// that lost events), then, when it has a since, the others active since an
// interval before it (the ones likely to have changed while callbacks were
// lost; the sweep reads the rest in their turn); most recently active first
// within each. It plans from the Rooms' identities and last activity
// (lookup.RoomIndex), not whole Rooms, so that it does not wait for the
// elected replica's cache of every Room: the catch-up is wanted most just
// after a start. Which of them are live is for the read to tell.
func planCatchUp(rooms []*lookup.RoomRef, cu *chatv1alpha1.ResyncCatchUp, interval time.Duration) []*lookup.RoomRef {
	var from int64
	if cu.Since != nil {
		from = cu.Since.Add(-interval).UnixMilli()
	}
	type rankedRef struct {
		ref   *lookup.RoomRef
		first bool
	}
	var due []rankedRef
	for _, ref := range rooms {
		named := slices.Contains(cu.Rooms, ref.RoomID)
		if named || (cu.Since != nil && ref.LastActive >= from) {
			due = append(due, rankedRef{ref: ref, first: named})
		}
	}
	// Named first, then most recently active, then by name.
	slices.SortFunc(due, func(a, b rankedRef) int {
		switch {
		case a.first != b.first:
			if a.first {
				return -1
			}
			return 1
		case a.ref.LastActive != b.ref.LastActive:
			return cmp.Compare(b.ref.LastActive, a.ref.LastActive)
		}
		return strings.Compare(a.ref.Name, b.ref.Name)
	})
	out := make([]*lookup.RoomRef, len(due))
	for i, r := range due {
		out[i] = r.ref
	}
	return out
}
