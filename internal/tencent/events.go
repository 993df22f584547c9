package tencent

// Envelope is the part every callback body shares.
type Envelope struct {
	// CallbackCommand names the callback, e.g. [CommandAfterCreateRoom]; ""
	// when absent.
	CallbackCommand string `json:"CallbackCommand"`
	// EventTime is when the event happened, in Unix milliseconds; nil when
	// absent.
	EventTime *Int64 `json:"EventTime"`
}

func (e *Envelope) members() []member {
	return []member{
		{"CallbackCommand", text(&e.CallbackCommand)},
		{"EventTime", optional(&e.EventTime)},
	}
}

// DecodeEnvelope parses body as a JSON object and returns its envelope.
// It fails when body is not valid JSON, is not a JSON object (an array, a
// string, null...), has data after the object, or carries a CallbackCommand
// that is not a string or an EventTime that is not an [Int64]. Unknown
// members are ignored.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if err := decodeObject(body, e.members()); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// RoomInfo is the RoomInfo object of the create and update callbacks. Every
// field is a pointer: nil means the callback did not carry it (an update may
// be partial), so the receiver keeps the previous value.
type RoomInfo struct {
	// RoomID identifies the room within the SDKAppID; see [ValidateRoomID].
	RoomID *String `json:"RoomId"`
	// RoomName is the room's display name.
	RoomName *String `json:"RoomName"`
	// RoomType is the kind of room, e.g. "Conference" or "Live".
	RoomType *String `json:"RoomType"`
	// OwnerAccount is the user ID of the room's owner.
	OwnerAccount *String `json:"Owner_Account"`
	// TakeSeatMode is "FreeToTake", "ApplyToTake" or, for Live, "None"; one
	// documentation page shows an integer, kept as its text.
	TakeSeatMode *String `json:"TakeSeatMode"`
	// MaxMemberCount is the most members the room admits.
	MaxMemberCount *Int64 `json:"MaxMemberCount"`
	// MaxSeatCount is the number of seats.
	MaxSeatCount *Int64 `json:"MaxSeatCount"`
	// IsVideoDisabled reports whether all members' video is disabled.
	IsVideoDisabled *Bool `json:"IsVideoDisabled"`
	// IsAudioDisabled reports whether all members' audio is disabled.
	IsAudioDisabled *Bool `json:"IsAudioDisabled"`
	// IsMessageDisabled reports whether all members are muted in the chat.
	IsMessageDisabled *Bool `json:"IsMessageDisabled"`
	// IsScreenSharingDisabled reports whether screen sharing is disabled.
	IsScreenSharingDisabled *Bool `json:"IsScreenSharingDisabled"`
	// IsCloudRecordingDisabled reports whether cloud recording is disabled.
	IsCloudRecordingDisabled *Bool `json:"IsCloudRecordingDisabled"`
	// IsSeatEnabled reports whether the room uses seats.
	IsSeatEnabled *Bool `json:"IsSeatEnabled"`
	// CustomInfo is free text the application attaches to the room.
	CustomInfo *String `json:"CustomInfo"`
	// ScheduleStartTime is when a scheduled room starts, as a Unix
	// timestamp in Tencent's unit.
	ScheduleStartTime *Int64 `json:"ScheduleStartTime"`
	// ScheduleEndTime is when a scheduled room ends, as a Unix timestamp in
	// Tencent's unit.
	ScheduleEndTime *Int64 `json:"ScheduleEndTime"`
	// RoomStatus is the room's state, as Tencent names it.
	RoomStatus *String `json:"RoomStatus"`
	// CreateTime is when the room was created, as a Unix timestamp in
	// Tencent's unit.
	CreateTime *Int64 `json:"CreateTime"`
}

func (ri *RoomInfo) members() []member {
	return []member{
		{"RoomId", optional(&ri.RoomID)},
		{"RoomName", optional(&ri.RoomName)},
		{"RoomType", optional(&ri.RoomType)},
		{"Owner_Account", optional(&ri.OwnerAccount)},
		{"TakeSeatMode", optional(&ri.TakeSeatMode)},
		{"MaxMemberCount", optional(&ri.MaxMemberCount)},
		{"MaxSeatCount", optional(&ri.MaxSeatCount)},
		{"IsVideoDisabled", optional(&ri.IsVideoDisabled)},
		{"IsAudioDisabled", optional(&ri.IsAudioDisabled)},
		{"IsMessageDisabled", optional(&ri.IsMessageDisabled)},
		{"IsScreenSharingDisabled", optional(&ri.IsScreenSharingDisabled)},
		{"IsCloudRecordingDisabled", optional(&ri.IsCloudRecordingDisabled)},
		{"IsSeatEnabled", optional(&ri.IsSeatEnabled)},
		{"CustomInfo", optional(&ri.CustomInfo)},
		{"ScheduleStartTime", optional(&ri.ScheduleStartTime)},
		{"ScheduleEndTime", optional(&ri.ScheduleEndTime)},
		{"RoomStatus", optional(&ri.RoomStatus)},
		{"CreateTime", optional(&ri.CreateTime)},
	}
}

// RoomInfoEvent is the body of Room.CallbackAfterCreateRoom and
// Room.CallbackAfterUpdateRoomInfo (and its older spelling
// Room.CallbackUpdateRoomInfo).
type RoomInfoEvent struct {
	Envelope
	// OperatorAccount is the user ID of who created or updated the room.
	OperatorAccount *String `json:"Operator_Account"`
	// RoomInfo describes the room; an update may carry only the fields that
	// changed.
	RoomInfo *RoomInfo `json:"RoomInfo"`
	// ScheduleInvitees are the user IDs invited to a scheduled room. Nil when
	// absent; empty, not nil, when the body carries an empty list.
	ScheduleInvitees []String `json:"ScheduleInviteeList_Account"`
}

func (e *RoomInfoEvent) members() []member {
	return append(e.Envelope.members(),
		member{"Operator_Account", optional(&e.OperatorAccount)},
		member{"RoomInfo", optionalObject(&e.RoomInfo)},
		member{"ScheduleInviteeList_Account", list(&e.ScheduleInvitees, (*String).UnmarshalJSON)},
	)
}

// DecodeRoomInfoEvent decodes the body of a create or update callback
// leniently, with the same top-level rules as [DecodeEnvelope]. A member of
// the wrong type is a [*FieldError] naming it, e.g.
// "RoomInfo.MaxMemberCount: ...". Unknown members are ignored.
func DecodeRoomInfoEvent(body []byte) (RoomInfoEvent, error) {
	var e RoomInfoEvent
	if err := decodeObject(body, e.members()); err != nil {
		return RoomInfoEvent{}, err
	}
	return e, nil
}

// DestroyRoomEvent is the body of Room.CallbackAfterDestroyRoom.
type DestroyRoomEvent struct {
	Envelope
	// OperatorAccount is the user ID of who destroyed the room.
	OperatorAccount *String `json:"Operator_Account"`
	// RoomID identifies the destroyed room.
	RoomID *String `json:"RoomId"`
}

func (e *DestroyRoomEvent) members() []member {
	return append(e.Envelope.members(),
		member{"Operator_Account", optional(&e.OperatorAccount)},
		member{"RoomId", optional(&e.RoomID)},
	)
}

// DecodeDestroyRoomEvent decodes the body of Room.CallbackAfterDestroyRoom,
// with the same rules as [DecodeRoomInfoEvent].
func DecodeDestroyRoomEvent(body []byte) (DestroyRoomEvent, error) {
	var e DestroyRoomEvent
	if err := decodeObject(body, e.members()); err != nil {
		return DestroyRoomEvent{}, err
	}
	return e, nil
}

// MemberEvent is the body of Room.CallbackAfterMemberEnter and
// Room.CallbackAfterMemberLeave.
type MemberEvent struct {
	Envelope
	// OperatorAccount is the user ID of who caused the change.
	OperatorAccount *String `json:"Operator_Account"`
	// RoomID identifies the room.
	RoomID *String `json:"RoomId"`
	// MemberCount is the number of members in the room after the change.
	MemberCount *Int64 `json:"MemberCount"`
	// Type is "Enter" when members entered; "Leave", "Kicked" or "Expired"
	// when they left.
	Type *String `json:"Type"`
	// Reason says why members left; leave callbacks only.
	Reason *String `json:"Reason"`
	// MemberAccounts are the user IDs of the members who entered or left.
	// Nil when absent; empty, not nil, when the body carries an empty list.
	MemberAccounts []String `json:"MemberList_Account"`
}

func (e *MemberEvent) members() []member {
	return append(e.Envelope.members(),
		member{"Operator_Account", optional(&e.OperatorAccount)},
		member{"RoomId", optional(&e.RoomID)},
		member{"MemberCount", optional(&e.MemberCount)},
		member{"Type", optional(&e.Type)},
		member{"Reason", optional(&e.Reason)},
		member{"MemberList_Account", list(&e.MemberAccounts, (*String).UnmarshalJSON)},
	)
}

// DecodeMemberEvent decodes the body of Room.CallbackAfterMemberEnter or
// Room.CallbackAfterMemberLeave, with the same rules as
// [DecodeRoomInfoEvent].
func DecodeMemberEvent(body []byte) (MemberEvent, error) {
	var e MemberEvent
	if err := decodeObject(body, e.members()); err != nil {
		return MemberEvent{}, err
	}
	return e, nil
}

// SeatInfo is one seat in the SeatList of Mic.CallbackAfterSeatInfoChanged.
type SeatInfo struct {
	// Index is the seat's number.
	Index *Int64 `json:"Index"`
	// MemberAccount is the user ID of who sits on the seat; empty when
	// nobody does.
	MemberAccount *String `json:"Member_Account"`
	// IsTakenDisabled reports whether the seat may not be taken (locked).
	IsTakenDisabled *Bool `json:"IsTakenDisabled"`
	// IsVideoDisabled reports whether video is disabled on the seat.
	IsVideoDisabled *Bool `json:"IsVideoDisabled"`
	// IsAudioDisabled reports whether audio is disabled on the seat.
	IsAudioDisabled *Bool `json:"IsAudioDisabled"`
}

func (s *SeatInfo) members() []member {
	return []member{
		{"Index", optional(&s.Index)},
		{"Member_Account", optional(&s.MemberAccount)},
		{"IsTakenDisabled", optional(&s.IsTakenDisabled)},
		{"IsVideoDisabled", optional(&s.IsVideoDisabled)},
		{"IsAudioDisabled", optional(&s.IsAudioDisabled)},
	}
}

// SeatInfoChangedEvent is the body of Mic.CallbackAfterSeatInfoChanged.
type SeatInfoChangedEvent struct {
	Envelope
	// OperatorAccount is the user ID of who changed the seats.
	OperatorAccount *String `json:"Operator_Account"`
	// RoomID identifies the room.
	RoomID *String `json:"RoomId"`
	// SeatList describes the seats. Nil when absent; empty, not nil, when
	// the body carries an empty list.
	SeatList []SeatInfo `json:"SeatList"`
}

func (e *SeatInfoChangedEvent) members() []member {
	return append(e.Envelope.members(),
		member{"Operator_Account", optional(&e.OperatorAccount)},
		member{"RoomId", optional(&e.RoomID)},
		member{"SeatList", list(&e.SeatList, decodeInto[SeatInfo])},
	)
}

// DecodeSeatInfoChangedEvent decodes the body of
// Mic.CallbackAfterSeatInfoChanged, with the same rules as
// [DecodeRoomInfoEvent]. A seat with a wrong member is named by its index,
// e.g. "SeatList[2].Index: ...".
func DecodeSeatInfoChangedEvent(body []byte) (SeatInfoChangedEvent, error) {
	var e SeatInfoChangedEvent
	if err := decodeObject(body, e.members()); err != nil {
		return SeatInfoChangedEvent{}, err
	}
	return e, nil
}
