package tencent

// Values of CallbackCommand, in the query string and in the body, for the
// room callbacks.
const (
	// CommandAfterCreateRoom is sent after a room is created. Body: [RoomInfoEvent].
	CommandAfterCreateRoom = "Room.CallbackAfterCreateRoom"
	// CommandAfterUpdateRoomInfo is sent after a room's information changes.
	// Body: [RoomInfoEvent], whose RoomInfo may carry only some fields.
	CommandAfterUpdateRoomInfo = "Room.CallbackAfterUpdateRoomInfo"
	// CommandUpdateRoomInfo is the older documentation's spelling of
	// [CommandAfterUpdateRoomInfo]. Treat both the same.
	CommandUpdateRoomInfo = "Room.CallbackUpdateRoomInfo"
	// CommandAfterDestroyRoom is sent after a room is destroyed. Body: [DestroyRoomEvent].
	CommandAfterDestroyRoom = "Room.CallbackAfterDestroyRoom"
	// CommandAfterMemberEnter is sent after members enter a room. Body: [MemberEvent].
	CommandAfterMemberEnter = "Room.CallbackAfterMemberEnter"
	// CommandAfterMemberLeave is sent after members leave a room, are kicked
	// out or time out. Body: [MemberEvent].
	CommandAfterMemberLeave = "Room.CallbackAfterMemberLeave"
	// CommandAfterSeatInfoChanged is sent after a room's seats change.
	// Body: [SeatInfoChangedEvent].
	CommandAfterSeatInfoChanged = "Mic.CallbackAfterSeatInfoChanged"
)
