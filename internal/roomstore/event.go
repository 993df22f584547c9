package roomstore

import (
	"cmp"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

// Event is one callback about a room, as the receiver accepted it, or one
// part of what a resync read of it (Command CommandResync). Exactly one of
// RoomInfo, Destroy, Members and Seats is set: a resync that reads the room
// info, the member count and the seats makes three events, one per kind,
// each timestamped when its request was sent, so that each is ordered
// against the callbacks of its own kind (see transition).
type Event struct {
	// RoomID is Tencent's RoomId, already validated.
	RoomID string
	// EventTime is the event's time in Unix milliseconds.
	EventTime int64
	// Command is the CallbackCommand.
	Command string
	// Operator is the Operator_Account, if any.
	Operator string
	// ClientIP and OptPlatform are the query parameters of the callback.
	ClientIP    string
	OptPlatform string

	// RoomInfo is set by the create and update callbacks, and by a read of
	// get_room_info.
	RoomInfo *RoomInfoChange
	// Destroy is set by the destroy callback, and by a read that found the
	// room gone.
	Destroy *DestroyChange
	// Members is set by the member enter and leave callbacks, and by a read
	// of the member count (get_room_info's MemberCount).
	Members *MembersChange
	// Seats is set by the seat-change callback, and by a read of
	// get_seat_list.
	Seats *SeatsChange
}

// RoomInfoChange is what a create or update callback says of the room.
type RoomInfoChange struct {
	// Info is the RoomInfo object; nil fields were not sent and keep their
	// previous value.
	Info tencent.RoomInfo
	// Invitees is the length of ScheduleInviteeList_Account, nil when absent.
	Invitees *int64
}

// DestroyChange is what a destroy callback says: only that it happened.
type DestroyChange struct {
	// Received is when the receiver got the callback.
	Received time.Time
}

// Member change types (Type of the member callbacks).
const (
	MemberEnter   = "Enter"
	MemberLeave   = "Leave"
	MemberKicked  = "Kicked"
	MemberExpired = "Expired"
)

// MembersChange is what a member enter or leave callback says, or what a
// read of the member count says.
//
// A read (Command CommandResync) sets only Count: it says how many members
// there are, not that anyone came or went. It counts nobody as having left,
// kicked or expired, and moves members.lastChangeTime only when it finds
// another count than the Room's.
type MembersChange struct {
	// Count is MemberCount, the room's total after the change; nil when
	// absent (the count is then kept).
	Count *int64
	// Type is Enter, Leave, Kicked or Expired (or whatever Tencent sent);
	// empty in a read.
	Type string
	// Accounts is how many members the event lists (at least 1; 0 in a
	// read).
	Accounts int64
}

// SeatsChange is what a seat-change callback or a read of get_seat_list
// says: the seats the list holds, and how many a member sits on.
type SeatsChange struct {
	Total, Taken int64
}

// SeatsOf returns what the seat list says: every seat counts, and a seat
// with a non-empty Member_Account is taken. An empty list (a room without
// seats) is 0 seats.
func SeatsOf(list []tencent.SeatInfo) *SeatsChange {
	change := &SeatsChange{Total: int64(len(list))}
	for _, seat := range list {
		if seat.MemberAccount != nil && *seat.MemberAccount != "" {
			change.Taken++
		}
	}
	return change
}

// CommandResync is the Command of an event that roomsync made from a read of
// Tencent's REST API, not from a callback: a resync, or the read that
// confirms a change the room management controller made.
const CommandResync = "roomsync.Resync"

// Drifted reports whether evs, applied to st in EventTime order (as the
// Store applies them), would change what the Room says about the room,
// beyond when it last heard of it: whether st has drifted from what evs
// say. Stale events find no drift. A Room that has not heard of members or
// seats says there are none: a read of 0 members or of no seats finds no
// drift there.
func Drifted(st chatv1alpha1.RoomStatus, evs ...Event) bool {
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b Event) int { return cmp.Compare(a.EventTime, b.EventTime) })
	before, after := receiverStatus(st), receiverStatus(st)
	applied := false
	for _, ev := range evs {
		applied = transition(&after, ev) || applied
	}
	if !applied {
		return false
	}
	return !equality.Semantic.DeepEqual(withoutBookkeeping(before), withoutBookkeeping(after))
}

// withoutBookkeeping is st without what says when and from whom the Room
// last heard, only what it says about the room. Members and seats it has
// not heard of are none.
func withoutBookkeeping(st chatv1alpha1.RoomStatus) chatv1alpha1.RoomStatus {
	st.LastEventTime = 0
	st.LastOperator, st.LastCallbackCommand, st.LastClientIP, st.LastOptPlatform = "", "", "", ""
	st.Destroyed = nil // its phase says whether the room is destroyed
	st.CloudRecordingEnabledTime = 0
	st.MemberCount = new(memberCount(&st))
	members := chatv1alpha1.RoomMembers{}
	if st.Members != nil {
		members = *st.Members
	}
	members.EventTime, members.LastChangeTime = 0, metav1.Time{}
	st.Members = &members
	seats := chatv1alpha1.RoomSeats{}
	if st.Seats != nil {
		seats = *st.Seats
	}
	seats.EventTime = 0
	st.Seats = &seats
	return st
}

// memberCount is the Room's member count; 0 when it has not heard of any.
func memberCount(st *chatv1alpha1.RoomStatus) int64 {
	if st.MemberCount == nil {
		return 0
	}
	return *st.MemberCount
}

// createsRoom reports whether the event may create a Room that does not
// exist: only the room-info callbacks describe a room well enough.
func (ev Event) createsRoom() bool { return ev.RoomInfo != nil }

// isRead reports whether roomsync made the event from a read of the REST
// API, not from a callback.
func (ev Event) isRead() bool { return ev.Command == CommandResync }

// transition applies ev to st, the receiver's part of a Room's status, and
// reports whether it changed anything: false means ev is stale.
//
// Ordering is per kind of information: room info, membership and seats each
// keep the EventTime of the newest event applied, and an older event of the
// same kind changes nothing, while events of other kinds are not held back
// by it. A resync's read is an event of its kind like a callback, stamped
// when its request was sent: a member callback newer than a read of the
// member count wins over it, an older one loses to it, and so for seats and
// room info. Any event older than the room's newest destroy changes nothing. An
// event with the same EventTime as the newest of its kind is applied again,
// so a retried callback is harmless (it is not counted twice).
func transition(st *chatv1alpha1.RoomStatus, ev Event) bool {
	if st.Destroyed != nil && ev.EventTime < st.Destroyed.EventTime {
		return false
	}
	newest := newestEventTime(st)

	var applied bool
	switch {
	case ev.RoomInfo != nil:
		applied = applyRoomInfo(st, ev)
	case ev.Destroy != nil:
		applied = applyDestroy(st, ev)
	case ev.Members != nil:
		applied = applyMembers(st, ev)
	case ev.Seats != nil:
		applied = applySeats(st, ev)
	}
	if applied && ev.EventTime >= newest {
		st.LastOperator = ev.Operator
		st.LastCallbackCommand = ev.Command
		st.LastClientIP = ev.ClientIP
		st.LastOptPlatform = ev.OptPlatform
	}
	return applied
}

func applyRoomInfo(st *chatv1alpha1.RoomStatus, ev Event) bool {
	if ev.EventTime < st.LastEventTime {
		return false
	}
	wasRecording := st.CloudRecordingDisabled != nil && !*st.CloudRecordingDisabled && st.Phase != chatv1alpha1.RoomPhaseDestroyed
	st.LastEventTime = ev.EventTime
	info := ev.RoomInfo.Info
	overlay(&st.RoomName, info.RoomName)
	overlay(&st.OwnerAccount, info.OwnerAccount)
	overlay(&st.TakeSeatMode, info.TakeSeatMode)
	overlay(&st.CustomInfo, info.CustomInfo)
	overlay(&st.RoomType, info.RoomType)
	overlay(&st.RoomStatus, info.RoomStatus)
	overlayInt(&st.MaxMemberCount, info.MaxMemberCount)
	overlayInt(&st.MaxSeatCount, info.MaxSeatCount)
	overlayInt(&st.ScheduleStartTime, info.ScheduleStartTime)
	overlayInt(&st.ScheduleEndTime, info.ScheduleEndTime)
	overlayInt(&st.CreateTime, info.CreateTime)
	overlayBool(&st.VideoDisabled, info.IsVideoDisabled)
	overlayBool(&st.AudioDisabled, info.IsAudioDisabled)
	overlayBool(&st.MessageDisabled, info.IsMessageDisabled)
	overlayBool(&st.ScreenSharingDisabled, info.IsScreenSharingDisabled)
	overlayBool(&st.CloudRecordingDisabled, info.IsCloudRecordingDisabled)
	overlayBool(&st.SeatEnabled, info.IsSeatEnabled)
	if n := ev.RoomInfo.Invitees; n != nil {
		st.ScheduleInviteeCount = *n
	}
	switch {
	case st.CloudRecordingDisabled == nil:
	case *st.CloudRecordingDisabled:
		st.CloudRecording = chatv1alpha1.CloudRecordingDisabled
	default:
		st.CloudRecording = chatv1alpha1.CloudRecordingEnabled
	}
	// Room info newer than the destroy: the room id was used again.
	if st.Destroyed == nil || ev.EventTime > st.Destroyed.EventTime {
		st.Phase = chatv1alpha1.RoomPhaseActive
	}
	recording := st.CloudRecordingDisabled != nil && !*st.CloudRecordingDisabled && st.Phase != chatv1alpha1.RoomPhaseDestroyed
	if recording && !wasRecording {
		st.CloudRecordingEnabledTime = ev.EventTime
	}
	return true
}

func applyDestroy(st *chatv1alpha1.RoomStatus, ev Event) bool {
	// Room info newer than this destroy belongs to a later life of the room.
	if ev.EventTime < st.LastEventTime {
		return false
	}
	received := metav1.NewTime(ev.Destroy.Received)
	if st.Destroyed != nil && st.Destroyed.EventTime == ev.EventTime {
		received = st.Destroyed.ReceivedTime // a retry does not extend the retention
	}
	st.Destroyed = &chatv1alpha1.RoomDestroy{
		EventTime:    ev.EventTime,
		Time:         metav1.NewTime(time.UnixMilli(ev.EventTime)),
		Operator:     ev.Operator,
		ReceivedTime: received,
	}
	st.Phase = chatv1alpha1.RoomPhaseDestroyed
	return true
}

func applyMembers(st *chatv1alpha1.RoomStatus, ev Event) bool {
	m := st.Members
	if m == nil {
		m = &chatv1alpha1.RoomMembers{}
	}
	if ev.EventTime < m.EventTime {
		return false
	}
	retry := st.Members != nil && ev.EventTime == m.EventTime
	change := ev.Members
	// A callback is a change of membership; a read is one only when it
	// finds another count (and the change happened before the read).
	changed := !ev.isRead() || (change.Count != nil && *change.Count != memberCount(st))
	if change.Count != nil {
		st.MemberCount = new(*change.Count)
	}
	m.EventTime = ev.EventTime
	if changed {
		m.LastChangeTime = metav1.NewTime(time.UnixMilli(ev.EventTime))
	}
	if !retry && !ev.isRead() {
		switch change.Type {
		case MemberLeave:
			m.Left += change.Accounts
		case MemberKicked:
			m.Kicked += change.Accounts
		case MemberExpired:
			m.Expired += change.Accounts
		}
	}
	st.Members = m
	return true
}

func applySeats(st *chatv1alpha1.RoomStatus, ev Event) bool {
	if st.Seats != nil && ev.EventTime < st.Seats.EventTime {
		return false
	}
	st.Seats = &chatv1alpha1.RoomSeats{Total: ev.Seats.Total, Taken: ev.Seats.Taken, EventTime: ev.EventTime}
	return true
}

// newestEventTime is the EventTime of the newest event of any kind in st.
func newestEventTime(st *chatv1alpha1.RoomStatus) int64 {
	t := st.LastEventTime
	if st.Members != nil {
		t = max(t, st.Members.EventTime)
	}
	if st.Seats != nil {
		t = max(t, st.Seats.EventTime)
	}
	if st.Destroyed != nil {
		t = max(t, st.Destroyed.EventTime)
	}
	return t
}

func overlay(dst *string, sent *tencent.String) {
	if sent != nil {
		*dst = string(*sent)
	}
}

func overlayInt(dst *int64, sent *tencent.Int64) {
	if sent != nil {
		*dst = int64(*sent)
	}
}

func overlayBool(dst **bool, sent *tencent.Bool) {
	if sent != nil {
		b := bool(*sent)
		*dst = &b
	}
}
