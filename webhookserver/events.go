package webhookserver

import (
	"time"

	"github.com/roomsync/roomsync/internal/roomstore"
	"github.com/roomsync/roomsync/internal/tencent"
)

// decoded is a callback body turned into a room event, before the checks
// every event needs (roomEvent) fill in its RoomID and EventTime.
type decoded struct {
	event       *roomstore.Event
	roomID      *tencent.String
	roomIDField string // where the body carries the RoomId, for errors
	eventTime   *tencent.Int64
}

// decoder turns the body of a callback into a room event; received is when
// the callback was received.
type decoder func(body []byte, received time.Time) (decoded, error)

// decoders hold the decoder of each handled command. Commands not listed
// are answered OK and ignored.
var decoders = map[string]decoder{
	tencent.CommandAfterCreateRoom:      decodeRoomInfo,
	tencent.CommandAfterUpdateRoomInfo:  decodeRoomInfo,
	tencent.CommandUpdateRoomInfo:       decodeRoomInfo,
	tencent.CommandAfterDestroyRoom:     decodeDestroy,
	tencent.CommandAfterMemberEnter:     decodeMembers,
	tencent.CommandAfterMemberLeave:     decodeMembers,
	tencent.CommandAfterSeatInfoChanged: decodeSeats,
}

func decodeRoomInfo(body []byte, _ time.Time) (decoded, error) {
	b, err := tencent.DecodeRoomInfoEvent(body)
	if err != nil {
		return decoded{}, err
	}
	change := &roomstore.RoomInfoChange{}
	d := decoded{event: &roomstore.Event{RoomInfo: change, Operator: text(b.OperatorAccount)}, roomIDField: "RoomInfo.RoomId", eventTime: b.EventTime}
	if b.RoomInfo != nil {
		change.Info = *b.RoomInfo
		d.roomID = b.RoomInfo.RoomID
	}
	if b.ScheduleInvitees != nil {
		n := int64(len(b.ScheduleInvitees))
		change.Invitees = &n
	}
	return d, nil
}

func decodeDestroy(body []byte, received time.Time) (decoded, error) {
	b, err := tencent.DecodeDestroyRoomEvent(body)
	if err != nil {
		return decoded{}, err
	}
	ev := &roomstore.Event{Destroy: &roomstore.DestroyChange{Received: received}, Operator: text(b.OperatorAccount)}
	return decoded{event: ev, roomID: b.RoomID, roomIDField: "RoomId", eventTime: b.EventTime}, nil
}

func decodeMembers(body []byte, _ time.Time) (decoded, error) {
	b, err := tencent.DecodeMemberEvent(body)
	if err != nil {
		return decoded{}, err
	}
	change := &roomstore.MembersChange{Type: text(b.Type), Accounts: max(1, int64(len(b.MemberAccounts)))}
	if b.MemberCount != nil {
		n := int64(*b.MemberCount)
		change.Count = &n
	}
	ev := &roomstore.Event{Members: change, Operator: text(b.OperatorAccount)}
	return decoded{event: ev, roomID: b.RoomID, roomIDField: "RoomId", eventTime: b.EventTime}, nil
}

func decodeSeats(body []byte, _ time.Time) (decoded, error) {
	b, err := tencent.DecodeSeatInfoChangedEvent(body)
	if err != nil {
		return decoded{}, err
	}
	change := &roomstore.SeatsChange{Total: int64(len(b.SeatList))}
	for _, seat := range b.SeatList {
		if seat.MemberAccount != nil && *seat.MemberAccount != "" {
			change.Taken++
		}
	}
	ev := &roomstore.Event{Seats: change, Operator: text(b.OperatorAccount)}
	return decoded{event: ev, roomID: b.RoomID, roomIDField: "RoomId", eventTime: b.EventTime}, nil
}

func text(s *tencent.String) string {
	if s == nil {
		return ""
	}
	return string(*s)
}
