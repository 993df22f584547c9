package tencenttest

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/roomsync/roomsync/internal/tencent"
)

// createFields are the RoomInfo members create_room takes
// (trtc.io/document/60707); the fake ignores others.
var createFields = []string{
	"RoomId", "RoomName", "RoomType", "Owner_Account", "MaxMemberCount", "MaxSeatCount",
	"IsVideoDisabled", "IsAudioDisabled", "IsMessageDisabled", "IsScreenSharingDisabled",
	"IsCloudRecordingDisabled", "CustomInfo", "ScheduleStartTime", "ScheduleEndTime",
	"IsSeatEnabled", "TakeSeatMode",
}

// updateFields are the RoomInfo members update_room_info changes
// (trtc.io/document/60705), besides RoomId; the fake ignores others.
var updateFields = []string{
	"RoomName", "MaxMemberCount", "TakeSeatMode", "IsVideoDisabled", "IsAudioDisabled",
	"IsMessageDisabled", "IsScreenSharingDisabled", "IsCloudRecordingDisabled", "CustomInfo",
}

// createRoom stores the room and sends Room.CallbackAfterCreateRoom. A
// request without RoomId, or with a RoomType other than "Conference", is
// answered 100002.
//
// Tencent documents no ErrorCode for a RoomId that already exists. The fake
// answers 100002 (invalid parameter), the nearest documented failure, and
// leaves the room as it was; a client must not take this as what Tencent
// does.
func (s *Server) createRoom(w http.ResponseWriter, r *http.Request, body map[string]any) {
	req, _ := body["RoomInfo"].(map[string]any)
	roomID, ok := req["RoomId"].(string)
	roomType, typed := req["RoomType"].(string)
	// The page documents RoomType as required and "Conference".
	if !ok || roomID == "" || len(roomID) > 48 || !typed || roomType != tencent.RoomTypeConference {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	invitees, _ := body["ScheduleInviteeList_Account"].([]any)
	now := time.Now()
	// The fake's defaults where the page states none, so that get_room_info
	// answers every documented member.
	info := map[string]any{
		"RoomName": roomID, "Owner_Account": s.administrator, "MaxMemberCount": 300, "MaxSeatCount": 16,
		"IsVideoDisabled": false, "IsAudioDisabled": false, "IsMessageDisabled": false,
		"IsScreenSharingDisabled": false, "IsCloudRecordingDisabled": false, "CustomInfo": "",
		"ScheduleStartTime": now.Unix(), "ScheduleEndTime": now.Add(time.Hour).Unix(),
		"RoomStatus": "Running", "IsSeatEnabled": false, "TakeSeatMode": "FreeToTake",
		"CreateTime": now.Unix(), "MemberCount": 0,
	}
	for _, k := range createFields {
		if v, ok := req[k]; ok {
			info[k] = v
		}
	}
	s.mu.Lock()
	_, exists := s.rooms[roomID]
	if !exists {
		s.rooms[roomID] = info
		delete(s.raw, roomID)
	}
	s.mu.Unlock()
	if exists {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.answerOK(w, r, nil)
	event := map[string]any{"RoomInfo": maps.Clone(info), "ScheduleInviteeList_Account": invitees}
	delete(event["RoomInfo"].(map[string]any), "MemberCount")
	if invitees == nil {
		event["ScheduleInviteeList_Account"] = []any{}
	}
	s.sendCallback(r, tencent.CommandAfterCreateRoom, event)
}

// updateRoomInfo changes the stored room and sends
// Room.CallbackAfterUpdateRoomInfo with the room's updatable fields.
func (s *Server) updateRoomInfo(w http.ResponseWriter, r *http.Request, body map[string]any) {
	req, _ := body["RoomInfo"].(map[string]any)
	roomID, ok := req["RoomId"].(string)
	if !ok {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.mu.Lock()
	info, exists := s.rooms[roomID]
	event := map[string]any{}
	if exists {
		for _, k := range updateFields {
			if v, ok := req[k]; ok {
				info[k] = v
			}
		}
		for _, k := range append([]string{"RoomId", "Owner_Account"}, updateFields...) {
			event[k] = info[k]
		}
		delete(s.raw, roomID)
	}
	s.mu.Unlock()
	if !exists {
		s.answerError(w, r, tencent.CodeRoomNotFound)
		return
	}
	s.answerOK(w, r, nil)
	s.sendCallback(r, tencent.CommandAfterUpdateRoomInfo, map[string]any{"RoomInfo": event})
}

// destroyRoom removes the room and sends Room.CallbackAfterDestroyRoom.
func (s *Server) destroyRoom(w http.ResponseWriter, r *http.Request, body map[string]any) {
	roomID, ok := body["RoomId"].(string)
	if !ok {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.mu.Lock()
	_, exists := s.rooms[roomID]
	delete(s.rooms, roomID)
	delete(s.raw, roomID)
	delete(s.seats, roomID)
	s.mu.Unlock()
	if !exists {
		s.answerError(w, r, tencent.CodeRoomNotFound)
		return
	}
	s.answerOK(w, r, nil)
	s.sendCallback(r, tencent.CommandAfterDestroyRoom, map[string]any{"RoomId": roomID})
}

// Seat is one seat of a room, as get_seat_list answers it.
type Seat struct {
	Index int
	// Member is the user ID on the seat; "" when it is empty, and then the
	// answer leaves Member_Account out, as the documented sample does.
	Member                                            string
	IsTakenDisabled, IsVideoDisabled, IsAudioDisabled bool
}

// SetSeats sets the seats get_seat_list answers for roomID (a room with
// none answers an empty SeatList).
func (s *Server) SetSeats(roomID string, seats []Seat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seats[roomID] = slices.Clone(seats)
}

// SetSeatAnswer makes the fake answer every get_seat_list of roomID with
// body, verbatim (nil: the stored seats again): for what Tencent does not
// document, or a failure it does, e.g. an ErrorCode sample.
func (s *Server) SetSeatAnswer(roomID string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == nil {
		delete(s.seatRaw, roomID)
		return
	}
	s.seatRaw[roomID] = bytes.Clone(body)
}

// getSeatList answers the stored seats (trtc.io/document/60719), or what
// SetSeatAnswer gave.
func (s *Server) getSeatList(w http.ResponseWriter, r *http.Request, body map[string]any) {
	roomID, ok := body["RoomId"].(string)
	if !ok {
		s.answerError(w, r, CodeBadParameter)
		return
	}
	s.mu.Lock()
	_, exists := s.rooms[roomID]
	seats := slices.Clone(s.seats[roomID])
	raw, isRaw := s.seatRaw[roomID]
	s.mu.Unlock()
	if isRaw {
		s.answer(w, raw)
		return
	}
	if !exists {
		s.answerError(w, r, tencent.CodeRoomNotFound)
		return
	}
	list := []any{}
	for _, seat := range seats {
		m := map[string]any{"Index": seat.Index, "IsTakenDisabled": seat.IsTakenDisabled,
			"IsVideoDisabled": seat.IsVideoDisabled, "IsAudioDisabled": seat.IsAudioDisabled}
		if seat.Member != "" {
			m["Member_Account"] = seat.Member
		}
		list = append(list, m)
	}
	s.answerOK(w, r, map[string]any{"SeatList": list})
}

// SetMemberCount sets the MemberCount get_room_info answers for roomID, a
// room that exists (SetRoom, create_room). No callback is sent: it stands
// for members who came and went while their callbacks were lost.
func (s *Server) SetMemberCount(roomID string, n int) {
	s.setRoomField("SetMemberCount", roomID, "MemberCount", n)
}

// SetSeatEnabled sets the IsSeatEnabled get_room_info answers for roomID, a
// room that exists: false stands for a room created without seats
// (create_room's IsSeatEnabled), which get_seat_list has nothing to say of.
func (s *Server) SetSeatEnabled(roomID string, enabled bool) {
	s.setRoomField("SetSeatEnabled", roomID, "IsSeatEnabled", enabled)
}

// setRoomField sets field of the RoomInfo get_room_info answers for roomID,
// a room that exists (caller names the test's call that asked), without a
// callback.
func (s *Server) setRoomField(caller, roomID, field string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.rooms[roomID]
	if !ok {
		s.t.Errorf("fake Tencent: %s of room %q, which does not exist", caller, roomID)
		return
	}
	info[field] = value
	delete(s.raw, roomID)
}
