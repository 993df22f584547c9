package tencent

import (
	"context"
	"errors"
)

// RoomTypeConference is the room type create_room documents for TUIRoomKit
// rooms, and the one [RESTClient.CreateRoom] sends when none is given.
const RoomTypeConference = "Conference"

// RoomSettings is the RoomInfo of a create_room request
// (trtc.io/document/60707). A nil field is left out of the request, so
// Tencent applies its default.
type RoomSettings struct {
	// RoomID identifies the room: at most 48 bytes. Required.
	RoomID string `json:"RoomId"`
	// RoomType is the kind of room; empty means [RoomTypeConference].
	RoomType string `json:"RoomType"`
	// RoomName is the display name, at most 100 bytes; Tencent defaults it
	// to the RoomId.
	RoomName *string `json:"RoomName,omitempty"`
	// OwnerAccount is the host's user ID (an imported account); Tencent
	// defaults it to the caller, the administrator.
	OwnerAccount *string `json:"Owner_Account,omitempty"`
	// MaxMemberCount is the most members the room admits.
	MaxMemberCount *int64 `json:"MaxMemberCount,omitempty"`
	// ScheduleStartTime and ScheduleEndTime schedule the meeting, in Unix
	// seconds.
	ScheduleStartTime *int64 `json:"ScheduleStartTime,omitempty"`
	ScheduleEndTime   *int64 `json:"ScheduleEndTime,omitempty"`
	// IsVideoDisabled and the other Is*Disabled fields disable a feature
	// for all members.
	IsVideoDisabled          *bool `json:"IsVideoDisabled,omitempty"`
	IsAudioDisabled          *bool `json:"IsAudioDisabled,omitempty"`
	IsMessageDisabled        *bool `json:"IsMessageDisabled,omitempty"`
	IsScreenSharingDisabled  *bool `json:"IsScreenSharingDisabled,omitempty"`
	IsCloudRecordingDisabled *bool `json:"IsCloudRecordingDisabled,omitempty"`
	// CustomInfo is free text the application attaches to the room.
	CustomInfo *string `json:"CustomInfo,omitempty"`
	// IsSeatEnabled makes the room use seats; MaxSeatCount is their number.
	IsSeatEnabled *bool  `json:"IsSeatEnabled,omitempty"`
	MaxSeatCount  *int64 `json:"MaxSeatCount,omitempty"`
	// TakeSeatMode is "FreeToTake" or "ApplyToTake".
	TakeSeatMode *string `json:"TakeSeatMode,omitempty"`
}

// RoomUpdate is the RoomInfo of an update_room_info request
// (trtc.io/document/60705): only the fields Tencent lets change. A nil field
// is left out of the request, so it keeps its value.
type RoomUpdate struct {
	// RoomID identifies the room. Required.
	RoomID                   string  `json:"RoomId"`
	RoomName                 *string `json:"RoomName,omitempty"`
	MaxMemberCount           *int64  `json:"MaxMemberCount,omitempty"`
	TakeSeatMode             *string `json:"TakeSeatMode,omitempty"`
	IsVideoDisabled          *bool   `json:"IsVideoDisabled,omitempty"`
	IsAudioDisabled          *bool   `json:"IsAudioDisabled,omitempty"`
	IsMessageDisabled        *bool   `json:"IsMessageDisabled,omitempty"`
	IsScreenSharingDisabled  *bool   `json:"IsScreenSharingDisabled,omitempty"`
	IsCloudRecordingDisabled *bool   `json:"IsCloudRecordingDisabled,omitempty"`
	CustomInfo               *string `json:"CustomInfo,omitempty"`
}

// okAnswer is the answer of a call that returns nothing but its status:
// Tencent documents only ActionStatus, ErrorCode, ErrorInfo and RequestId.
type okAnswer struct{}

func (*okAnswer) check() error { return nil }

// CreateRoom creates the room. invitees, when not empty, are sent as
// ScheduleInviteeList_Account. Tencent documents no error for a RoomId that
// already exists: do not rely on one. An error matches ErrCredentials when
// the credentials were rejected; see [APIError] for the others.
func (c *RESTClient) CreateRoom(ctx context.Context, room RoomSettings, invitees []string) error {
	if room.RoomType == "" {
		room.RoomType = RoomTypeConference
	}
	body := struct {
		RoomInfo RoomSettings `json:"RoomInfo"`
		Invitees []string     `json:"ScheduleInviteeList_Account,omitempty"`
	}{room, invitees}
	return c.call(ctx, ServiceRoom, CommandCreateRoom, body, &okAnswer{})
}

// UpdateRoomInfo changes the fields of the room that update are set. An
// error matches ErrRoomNotFound when the room does not exist.
func (c *RESTClient) UpdateRoomInfo(ctx context.Context, update RoomUpdate) error {
	body := struct {
		RoomInfo RoomUpdate `json:"RoomInfo"`
	}{update}
	return c.call(ctx, ServiceRoom, CommandUpdateRoom, body, &okAnswer{})
}

// DestroyRoom destroys the room. An error matches ErrRoomNotFound when the
// room does not exist (any more).
func (c *RESTClient) DestroyRoom(ctx context.Context, roomID string) error {
	return c.call(ctx, ServiceRoom, CommandDestroyRoom, map[string]string{"RoomId": roomID}, &okAnswer{})
}

// getSeatListAnswer is get_seat_list's answer: the seats are in
// Response.SeatList (trtc.io/document/60719, "Sample Response Packets").
type getSeatListAnswer struct {
	Response *struct {
		SeatList *[]SeatInfo `json:"SeatList"`
	} `json:"Response"`
}

func (a *getSeatListAnswer) check() error {
	if a.Response == nil || a.Response.SeatList == nil {
		return errors.New("no Response.SeatList")
	}
	return nil
}

// GetSeatList returns the room's seats, in Tencent's order. An empty seat
// has a nil or empty MemberAccount. An error matches ErrRoomNotFound when the
// room does not exist, and ErrBadAnswer when the answer has no
// Response.SeatList.
func (c *RESTClient) GetSeatList(ctx context.Context, roomID string) ([]SeatInfo, error) {
	a := &getSeatListAnswer{}
	if err := c.call(ctx, ServiceMic, CommandGetSeatList, map[string]string{"RoomId": roomID}, a); err != nil {
		return nil, err
	}
	return *a.Response.SeatList, nil
}
