package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RoomSpec identifies the Tencent room that a Room mirrors, and says what
// roomsync may do to it.
// +kubebuilder:validation:XValidation:rule="!has(self.adoptExisting) || !self.adoptExisting || (has(self.managementPolicies) && self.managementPolicies.exists(p, p == 'Create' || p == '*'))",message="adoptExisting applies only with the Create management policy"
type RoomSpec struct {
	// sdkAppID is the SDKAppID of the Tencent Cloud Chat application that owns
	// the room. The ChatApp that holds this sdkAppID, when it is in the
	// Room's namespace, delivers the room's callbacks, and its restAPI is
	// the one roomsync calls for the room.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="sdkAppID is immutable"
	SDKAppID int64 `json:"sdkAppID"`

	// roomID is Tencent's RoomId: any UTF-8 text of at most 48 bytes. It need
	// not be a valid Kubernetes name; callbacks find a Room by this field.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=48
	// +kubebuilder:validation:XValidation:rule="size(bytes(self)) <= 48",message="roomID must be at most 48 bytes of UTF-8"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="roomID is immutable"
	RoomID string `json:"roomID"`

	// managementPolicies says what roomsync may do to the room in Tencent,
	// in Crossplane's words. Observe (always included) mirrors it; Create
	// creates it when it does not exist; Update brings it back to settings
	// when it differs; Delete destroys it when the Room is deleted. "*" is
	// all four. The default is [Observe]: roomsync only watches.
	// +optional
	// +kubebuilder:default={"Observe"}
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:XValidation:rule="!('*' in self) || size(self) == 1",message="managementPolicies: \"*\" already means every policy and must stand alone"
	// +kubebuilder:validation:XValidation:rule="'*' in self || 'Observe' in self",message="managementPolicies must include Observe: roomsync always mirrors the room it manages"
	ManagementPolicies []ManagementPolicy `json:"managementPolicies,omitempty"`

	// settings are the room's settings as create_room takes them. Only the
	// fields set here are managed: with Create they are sent to create the
	// room, with Update the updatable ones are kept as written. Those that
	// update_room_info cannot change (roomType, ownerAccount, maxSeatCount,
	// seatEnabled, scheduleStartTime, scheduleEndTime) are create-only:
	// while the room exists (status.phase Active) they can only be set to
	// the value the room has. With Observe only, the Synced condition says
	// whether Tencent matches them, and nothing is changed.
	// +optional
	Settings *RoomSettings `json:"settings,omitempty"`

	// adoptExisting, with Create, lets this Room take over a room that
	// already exists in Tencent and that it did not create: it is updated
	// to settings and, with Delete, destroyed with the Room. Without it
	// such a Room is Stalled (RoomAlreadyExists) and changes nothing.
	// +optional
	// +kubebuilder:default=false
	AdoptExisting bool `json:"adoptExisting,omitempty"`
}

// ManagementPolicy is one thing roomsync may do to a room in Tencent.
// +kubebuilder:validation:Enum=Observe;Create;Update;Delete;"*"
type ManagementPolicy string

// Management policies, as Crossplane names them.
const (
	// ManagementObserve mirrors the room (callbacks and resync).
	ManagementObserve ManagementPolicy = "Observe"
	// ManagementCreate creates the room when it does not exist.
	ManagementCreate ManagementPolicy = "Create"
	// ManagementUpdate keeps the room's updatable settings as declared.
	ManagementUpdate ManagementPolicy = "Update"
	// ManagementDelete destroys the room when the Room is deleted.
	ManagementDelete ManagementPolicy = "Delete"
	// ManagementAll is every policy.
	ManagementAll ManagementPolicy = "*"
)

// Allows reports whether the Room's managementPolicies include p (or "*").
func (s RoomSpec) Allows(p ManagementPolicy) bool {
	for _, have := range s.ManagementPolicies {
		if have == p || have == ManagementAll {
			return true
		}
	}
	return p == ManagementObserve
}

// Manages reports whether roomsync changes the room in Tencent at all:
// whether the Room allows Create, Update or Delete.
func (s RoomSpec) Manages() bool {
	return s.Allows(ManagementCreate) || s.Allows(ManagementUpdate) || s.Allows(ManagementDelete)
}

// RoomSettings are the fields of Tencent's create_room
// (trtc.io/document/60707) that a Room may declare. A field left out is
// not managed: Tencent's default applies at creation and roomsync does not
// change it afterwards.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="!has(self.scheduleStartTime) || !has(self.scheduleEndTime) || self.scheduleStartTime < self.scheduleEndTime",message="scheduleEndTime must be after scheduleStartTime"
type RoomSettings struct {
	// roomName is the room's display name (RoomName), at most 100 bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="size(bytes(self)) <= 100",message="roomName must be at most 100 bytes of UTF-8"
	RoomName *string `json:"roomName,omitempty"`

	// roomType is the kind of room (RoomType): roomsync creates a
	// Conference room, as TUIRoomKit does, unless it is set. Create-only.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	RoomType *string `json:"roomType,omitempty"`

	// ownerAccount is the host's user ID (Owner_Account); Tencent makes the
	// REST API's administrator the owner unless set. Create-only.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	OwnerAccount *string `json:"ownerAccount,omitempty"`

	// maxMemberCount is the most members the room admits (MaxMemberCount).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxMemberCount *int64 `json:"maxMemberCount,omitempty"`

	// maxSeatCount is the number of seats (MaxSeatCount). Create-only.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxSeatCount *int64 `json:"maxSeatCount,omitempty"`

	// seatEnabled makes the room use seats (IsSeatEnabled). Create-only.
	// +optional
	SeatEnabled *bool `json:"seatEnabled,omitempty"`

	// takeSeatMode is how members take seats (TakeSeatMode): FreeToTake,
	// ApplyToTake, or None (live rooms).
	// +optional
	// +kubebuilder:validation:Enum=FreeToTake;ApplyToTake;None
	TakeSeatMode *string `json:"takeSeatMode,omitempty"`

	// videoDisabled is IsVideoDisabled: video off for all members.
	// +optional
	VideoDisabled *bool `json:"videoDisabled,omitempty"`

	// audioDisabled is IsAudioDisabled.
	// +optional
	AudioDisabled *bool `json:"audioDisabled,omitempty"`

	// messageDisabled is IsMessageDisabled.
	// +optional
	MessageDisabled *bool `json:"messageDisabled,omitempty"`

	// screenSharingDisabled is IsScreenSharingDisabled.
	// +optional
	ScreenSharingDisabled *bool `json:"screenSharingDisabled,omitempty"`

	// cloudRecordingDisabled is IsCloudRecordingDisabled; false enables
	// cloud recording (and so a recording Job, with ChatApp spec.recording).
	// +optional
	CloudRecordingDisabled *bool `json:"cloudRecordingDisabled,omitempty"`

	// customInfo is free text the application attaches to the room
	// (CustomInfo).
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	CustomInfo *string `json:"customInfo,omitempty"`

	// scheduleStartTime is when the meeting is scheduled to start, in Unix
	// seconds (ScheduleStartTime). Create-only.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ScheduleStartTime *int64 `json:"scheduleStartTime,omitempty"`

	// scheduleEndTime is when the meeting is scheduled to end, in Unix
	// seconds (ScheduleEndTime); after scheduleStartTime. Create-only.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ScheduleEndTime *int64 `json:"scheduleEndTime,omitempty"`
}

// CloudRecording says whether cloud recording is enabled for a room.
// +kubebuilder:validation:Enum=Enabled;Disabled
type CloudRecording string

const (
	// CloudRecordingEnabled means IsCloudRecordingDisabled is false.
	CloudRecordingEnabled CloudRecording = "Enabled"
	// CloudRecordingDisabled means IsCloudRecordingDisabled is true.
	CloudRecordingDisabled CloudRecording = "Disabled"
)

// RoomPhase is where a room is in its life.
// +kubebuilder:validation:Enum=Active;Destroyed
type RoomPhase string

const (
	// RoomPhaseActive: room info has been received (a create or update
	// callback, or a read of the REST API) and the room is not destroyed, or
	// newer room info says the room id was used again after its destroy.
	RoomPhaseActive RoomPhase = "Active"
	// RoomPhaseDestroyed: the room was destroyed, as a destroy callback
	// says, or a resync that found it gone (get_room_info answered
	// ErrorCode 100004), newer than the room info.
	RoomPhaseDestroyed RoomPhase = "Destroyed"
)

// RoomMembers is the history of the room's membership, from the member
// enter and leave callbacks and the member count a resync reads. Member
// lists are not kept: only counts.
type RoomMembers struct {
	// eventTime is the EventTime (Unix milliseconds) of the newest
	// membership event applied: a member callback, or a resync's read of
	// the member count (stamped when its request was sent). Older
	// membership events change nothing.
	// +required
	EventTime int64 `json:"eventTime"`

	// lastChangeTime is when membership last changed as far as roomsync
	// knows: the newest member callback's EventTime, or the time a resync's
	// read found another count (the change happened before it).
	// +optional
	LastChangeTime metav1.Time `json:"lastChangeTime,omitzero"`

	// left counts members who left by themselves (Type Leave), as the
	// callbacks tell; a resync does not count them.
	// +required
	Left int64 `json:"left"`

	// kicked counts members who were removed (Type Kicked), as the
	// callbacks tell.
	// +required
	Kicked int64 `json:"kicked"`

	// expired counts members whose session expired (Type Expired), as the
	// callbacks tell.
	// +required
	Expired int64 `json:"expired"`
}

// RoomSeats is the room's seats, from the seat-change callback and the seat
// list a resync reads (get_seat_list).
type RoomSeats struct {
	// total is the number of seats in the newest seat list (0 for a room
	// without seats).
	// +required
	Total int64 `json:"total"`

	// taken is how many of them a member holds.
	// +required
	Taken int64 `json:"taken"`

	// eventTime is the EventTime (Unix milliseconds) of the newest seat event
	// applied: a seat callback, or a resync's read of the seat list (stamped
	// when its request was sent). Older seat events change nothing.
	// +required
	EventTime int64 `json:"eventTime"`
}

// RoomDestroy records the room's newest destroy: a destroy callback, or a
// resync's read that found the room gone (get_room_info answered ErrorCode
// 100004, the room does not exist).
type RoomDestroy struct {
	// eventTime is the destroy's EventTime (Unix milliseconds); for a read,
	// when its request was sent. Events of any kind older than it change
	// nothing.
	// +required
	EventTime int64 `json:"eventTime"`

	// time is eventTime as a time: when the room was destroyed, or, for a
	// read, when roomsync found it gone (it went before).
	// +required
	Time metav1.Time `json:"time"`

	// operator is who destroyed it (Operator_Account); for a read, the
	// ChatApp's REST API administrator, who read it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Operator string `json:"operator,omitempty"`

	// receivedTime is when roomsync received the destroy callback, or made
	// the read; the retention period of Rooms created by callbacks counts
	// from it.
	// +required
	ReceivedTime metav1.Time `json:"receivedTime"`
}

// RoomResync is the last read of a room from Tencent's REST API. The
// resync controller owns it.
type RoomResync struct {
	// time is when the room was last read and what was read applied.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`

	// driftFound reports whether that read found the Room out of date (and
	// so updated it).
	// +optional
	DriftFound bool `json:"driftFound,omitempty"`

	// handledRequest is the last value of the annotation
	// chat.roomsync.io/resync-requested-at that was acted on (also when it
	// could not be: see the Room's events).
	// +optional
	HandledRequest string `json:"handledRequest,omitempty"`
}

// RoomManagement is what roomsync did to the room in Tencent, as
// spec.managementPolicies allow. The management controller owns it.
type RoomManagement struct {
	// createRequestedTime is when roomsync decided to create the room. It is
	// written before create_room is called, so that a room found existing
	// afterwards is known to be this Room's own even if the call's answer
	// was lost.
	// +optional
	CreateRequestedTime *metav1.Time `json:"createRequestedTime,omitempty"`

	// createdTime is when roomsync confirmed, with get_room_info, that the
	// room it asked create_room for exists.
	// +optional
	CreatedTime *metav1.Time `json:"createdTime,omitempty"`

	// adoptedTime is when roomsync took over a room that already existed
	// (spec.adoptExisting).
	// +optional
	AdoptedTime *metav1.Time `json:"adoptedTime,omitempty"`

	// observedGeneration is the metadata.generation whose settings were
	// last brought to Tencent (by create_room or update_room_info).
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastUpdateTime is when update_room_info was last called, to bring the
	// room to a changed spec.settings or to change back what was changed in
	// the app.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`

	// updatedFields are the updatable settings that differed from
	// spec.settings when update_room_info was last called.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	UpdatedFields []string `json:"updatedFields,omitempty"`

	// failure is why the last step failed, until one works.
	// +optional
	Failure *ManagementFailure `json:"failure,omitempty"`
}

// ManagementFailure is a call to Tencent (or the lack of a way to make one)
// that failed.
type ManagementFailure struct {
	// reason is a condition reason: RoomAlreadyExists, TencentRejected,
	// RESTAPINotConfigured, RESTAPICredentialsRejected and
	// SecretKeyNotFound need a human (the Room is Stalled);
	// TencentUnavailable and RESTAPIBadAnswer are tried again with backoff.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason"`

	// command is the REST API command that failed, if one was called.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Command string `json:"command,omitempty"`

	// errorCode is Tencent's ErrorCode, when Tencent answered.
	// +optional
	ErrorCode int64 `json:"errorCode,omitempty"`

	// message says what failed; with Tencent's ErrorInfo when it answered.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`

	// time is when it failed.
	// +required
	Time metav1.Time `json:"time"`

	// observedGeneration is the metadata.generation it failed at: a change
	// of spec tries again at once.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// RoomRecording is the state of a room's recording sessions. The recording
// controller owns it.
type RoomRecording struct {
	// active is true while a recording session is open: from an enable of
	// cloud recording until it is disabled, the room is destroyed, the
	// ChatApp stops recording (spec.recording removed) or a newer enable
	// opens the next session.
	// +required
	Active bool `json:"active"`

	// sessions counts the sessions started; the open or last one has this
	// number.
	// +required
	Sessions int64 `json:"sessions"`

	// enabledTime is the cloudRecordingEnabledTime of the enable that the
	// open or last session records.
	// +optional
	EnabledTime int64 `json:"enabledTime,omitempty"`

	// jobName is the Job of the open or last session, once created.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	JobName string `json:"jobName,omitempty"`

	// lastStartTime is when the last session started.
	// +optional
	LastStartTime *metav1.Time `json:"lastStartTime,omitempty"`

	// lastStopTime is when the last session stopped.
	// +optional
	LastStopTime *metav1.Time `json:"lastStopTime,omitempty"`
}

// RoomStatus is the room as Tencent last described it, in callbacks or in
// the REST API's answers, plus what roomsync's controllers derived from it
// and did. A room-info event that leaves a field out keeps its previous
// value.
//
// Several writers share this status, each with its own field manager. The
// callback receiver (roomsync-callback-receiver) writes every field that
// describes the room: the room info, phase, destroyed, memberCount,
// members, seats and the last* fields. Its writes are JSON merge patches
// that carry the resourceVersion it read, so a write on a Room that changed
// meanwhile is refused and decided again. What resync and room management
// read from the REST API goes through the same write path, as events. The
// controllers write their own fields with server-side apply: the Room
// controller observedGeneration and the Ready, Synced, Reconciling and
// Stalled conditions (roomsync-room-controller); the recording controller
// recording and the Recording condition (roomsync-recording); the resync
// controller resync (roomsync-resync, and roomsync-resync-request for
// resync.handledRequest); the room management controller management
// (roomsync-management).
type RoomStatus struct {
	// observedGeneration is the metadata.generation the Room controller last
	// reconciled. It is -1 until the controller has looked at the Room.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the Room's state. Ready is True once room info has
	// been received (a destroyed room's too) and, for a Room that creates or
	// updates its room, only while nothing is in progress or stalled and
	// Tencent matches spec.settings. Synced (only with spec.settings) is
	// True when Tencent matches spec.settings. Reconciling is True while
	// roomsync creates or updates the room. Stalled is True when the Room
	// cannot make progress without a human (a duplicate roomID, an error
	// Tencent will give again, a room that exists and may not be adopted).
	// Recording, written by the recording controller, is True while a
	// recording Job runs.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// roomName is the room's RoomName.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	RoomName string `json:"roomName,omitempty"`

	// ownerAccount is the room owner's account (Owner_Account).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	OwnerAccount string `json:"ownerAccount,omitempty"`

	// takeSeatMode is how members take seats: FreeToTake, ApplyToTake or
	// None, or whatever Tencent sent.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TakeSeatMode string `json:"takeSeatMode,omitempty"`

	// maxMemberCount is the room's member limit (MaxMemberCount).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxMemberCount int64 `json:"maxMemberCount,omitempty"`

	// videoDisabled mirrors IsVideoDisabled.
	// +optional
	VideoDisabled *bool `json:"videoDisabled,omitempty"`

	// audioDisabled mirrors IsAudioDisabled.
	// +optional
	AudioDisabled *bool `json:"audioDisabled,omitempty"`

	// messageDisabled mirrors IsMessageDisabled.
	// +optional
	MessageDisabled *bool `json:"messageDisabled,omitempty"`

	// screenSharingDisabled mirrors IsScreenSharingDisabled.
	// +optional
	ScreenSharingDisabled *bool `json:"screenSharingDisabled,omitempty"`

	// cloudRecordingDisabled mirrors IsCloudRecordingDisabled.
	// +optional
	CloudRecordingDisabled *bool `json:"cloudRecordingDisabled,omitempty"`

	// cloudRecordingEnabledTime is the EventTime (Unix milliseconds) of the
	// room-info event that last enabled cloud recording (or brought a
	// recording room back after a destroy). Each enable is one recording
	// session, however quickly it follows the last disable.
	// +optional
	CloudRecordingEnabledTime int64 `json:"cloudRecordingEnabledTime,omitempty"`

	// cloudRecording is Enabled when cloudRecordingDisabled is false and
	// Disabled when it is true: the same fact, readable in a column.
	// +optional
	CloudRecording CloudRecording `json:"cloudRecording,omitempty"`

	// customInfo is the room's CustomInfo, as sent.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	CustomInfo string `json:"customInfo,omitempty"`

	// phase is Active once room info has been received, Destroyed after a
	// destroy callback or a resync that found the room gone, and Active
	// again when newer room info says the room id was used again.
	// +optional
	Phase RoomPhase `json:"phase,omitempty"`

	// roomType is the room's RoomType (Conference, Live, ...), as sent.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	RoomType string `json:"roomType,omitempty"`

	// roomStatus is Tencent's RoomStatus of the room, as sent.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	RoomStatus string `json:"roomStatus,omitempty"`

	// maxSeatCount is the room's seat limit (MaxSeatCount).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxSeatCount int64 `json:"maxSeatCount,omitempty"`

	// seatEnabled mirrors IsSeatEnabled.
	// +optional
	SeatEnabled *bool `json:"seatEnabled,omitempty"`

	// scheduleStartTime is the room's ScheduleStartTime, as sent (Tencent
	// documents Unix seconds).
	// +optional
	ScheduleStartTime int64 `json:"scheduleStartTime,omitempty"`

	// scheduleEndTime is the room's ScheduleEndTime, as sent (Tencent
	// documents Unix seconds).
	// +optional
	ScheduleEndTime int64 `json:"scheduleEndTime,omitempty"`

	// createTime is the room's CreateTime, as sent.
	// +optional
	CreateTime int64 `json:"createTime,omitempty"`

	// scheduleInviteeCount is how many accounts the newest create or update
	// callback that carried ScheduleInviteeList_Account listed in it (the
	// list itself is not kept).
	// +optional
	// +kubebuilder:validation:Minimum=0
	ScheduleInviteeCount int64 `json:"scheduleInviteeCount,omitempty"`

	// memberCount is the room's member count (MemberCount) as of the newest
	// membership event applied, a member callback or a resync's read of
	// get_room_info: Tencent's authoritative total.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MemberCount *int64 `json:"memberCount,omitempty"`

	// members is when membership last changed, and why members left.
	// +optional
	Members *RoomMembers `json:"members,omitempty"`

	// seats is the room's seats, from seat callbacks and a resync's reads.
	// +optional
	Seats *RoomSeats `json:"seats,omitempty"`

	// destroyed records the newest destroy: a destroy callback, or a resync
	// that found the room gone.
	// +optional
	Destroyed *RoomDestroy `json:"destroyed,omitempty"`

	// recording is the state of the room's recording sessions (see
	// ChatApp spec.recording).
	// +optional
	Recording *RoomRecording `json:"recording,omitempty"`

	// management is what roomsync did to the room in Tencent
	// (spec.managementPolicies).
	// +optional
	Management *RoomManagement `json:"management,omitempty"`

	// resync is when roomsync last read the room from Tencent's REST API
	// (see ChatApp spec.restAPI), and what it found.
	// +optional
	Resync *RoomResync `json:"resync,omitempty"`

	// lastEventTime is the EventTime (Unix milliseconds) of the newest
	// room-info event applied: a create or update callback, or a read of
	// get_room_info (stamped when its request was sent). Older room-info
	// events are not applied; one with the same EventTime is applied again.
	// +optional
	// +kubebuilder:validation:Minimum=0
	LastEventTime int64 `json:"lastEventTime,omitempty"`

	// lastOperator is the Operator_Account of the newest event applied, of
	// any kind; for a read of the REST API, the ChatApp's REST API
	// administrator.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	LastOperator string `json:"lastOperator,omitempty"`

	// lastCallbackCommand is the CallbackCommand of the newest event
	// applied, or roomsync.Resync for a read of the REST API (a resync, or
	// the read that confirms a change roomsync made).
	// +optional
	// +kubebuilder:validation:MaxLength=128
	LastCallbackCommand string `json:"lastCallbackCommand,omitempty"`

	// lastClientIP is the ClientIP query parameter of the newest event
	// applied; empty for a read of the REST API.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	LastClientIP string `json:"lastClientIP,omitempty"`

	// lastOptPlatform is the OptPlatform query parameter of the newest event
	// applied (RESTAPI, Web, Android, iOS, ...), stored as sent; empty for a
	// read of the REST API.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	LastOptPlatform string `json:"lastOptPlatform,omitempty"`
}

// LastActiveTime is when the room last changed as far as roomsync knows:
// the time of its newest event of any kind (room info, members, seats).
func (s *RoomStatus) LastActiveTime() time.Time {
	newest := s.LastEventTime
	if s.Members != nil {
		newest = max(newest, s.Members.EventTime, s.Members.LastChangeTime.UnixMilli())
	}
	if s.Seats != nil {
		newest = max(newest, s.Seats.EventTime)
	}
	return time.UnixMilli(newest)
}

// Room mirrors one Tencent Cloud Chat room. Callbacks, and reads of
// Tencent's REST API (resync), keep its status up to date; controllers act
// on it, and, as spec.managementPolicies allow, create, update and destroy
// the room in Tencent.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Active' || !has(self.spec.settings) || !has(self.spec.settings.roomType) || (has(oldSelf.spec.settings) && has(oldSelf.spec.settings.roomType) && self.spec.settings.roomType == oldSelf.spec.settings.roomType) || (has(oldSelf.status.roomType) && self.spec.settings.roomType == oldSelf.status.roomType)",message="spec.settings.roomType is create-only (update_room_info cannot change it): while the room exists it can only be set to what the room has, status.roomType"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Active' || !has(self.spec.settings) || !has(self.spec.settings.ownerAccount) || (has(oldSelf.spec.settings) && has(oldSelf.spec.settings.ownerAccount) && self.spec.settings.ownerAccount == oldSelf.spec.settings.ownerAccount) || (has(oldSelf.status.ownerAccount) && self.spec.settings.ownerAccount == oldSelf.status.ownerAccount)",message="spec.settings.ownerAccount is create-only (update_room_info cannot change it): while the room exists it can only be set to what the room has, status.ownerAccount"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Active' || !has(self.spec.settings) || !has(self.spec.settings.maxSeatCount) || (has(oldSelf.spec.settings) && has(oldSelf.spec.settings.maxSeatCount) && self.spec.settings.maxSeatCount == oldSelf.spec.settings.maxSeatCount) || (has(oldSelf.status.maxSeatCount) && self.spec.settings.maxSeatCount == oldSelf.status.maxSeatCount)",message="spec.settings.maxSeatCount is create-only (update_room_info cannot change it): while the room exists it can only be set to what the room has, status.maxSeatCount"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Active' || !has(self.spec.settings) || !has(self.spec.settings.seatEnabled) || (has(oldSelf.spec.settings) && has(oldSelf.spec.settings.seatEnabled) && self.spec.settings.seatEnabled == oldSelf.spec.settings.seatEnabled) || (has(oldSelf.status.seatEnabled) && self.spec.settings.seatEnabled == oldSelf.status.seatEnabled)",message="spec.settings.seatEnabled is create-only (update_room_info cannot change it): while the room exists it can only be set to what the room has, status.seatEnabled"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Active' || !has(self.spec.settings) || !has(self.spec.settings.scheduleStartTime) || (has(oldSelf.spec.settings) && has(oldSelf.spec.settings.scheduleStartTime) && self.spec.settings.scheduleStartTime == oldSelf.spec.settings.scheduleStartTime) || (has(oldSelf.status.scheduleStartTime) && self.spec.settings.scheduleStartTime == oldSelf.status.scheduleStartTime)",message="spec.settings.scheduleStartTime is create-only (update_room_info cannot change it): while the room exists it can only be set to what the room has, status.scheduleStartTime"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Active' || !has(self.spec.settings) || !has(self.spec.settings.scheduleEndTime) || (has(oldSelf.spec.settings) && has(oldSelf.spec.settings.scheduleEndTime) && self.spec.settings.scheduleEndTime == oldSelf.spec.settings.scheduleEndTime) || (has(oldSelf.status.scheduleEndTime) && self.spec.settings.scheduleEndTime == oldSelf.status.scheduleEndTime)",message="spec.settings.scheduleEndTime is create-only (update_room_info cannot change it): while the room exists it can only be set to what the room has, status.scheduleEndTime"
// +kubebuilder:resource:path=rooms,shortName=rm,categories=roomsync
// +kubebuilder:selectablefield:JSONPath=`.spec.roomID`
// +kubebuilder:selectablefield:JSONPath=`.spec.sdkAppID`
// +kubebuilder:selectablefield:JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Room ID",type=string,JSONPath=`.spec.roomID`
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.status.ownerAccount`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.memberCount`
// +kubebuilder:printcolumn:name="Max Members",type=integer,JSONPath=`.status.maxMemberCount`
// +kubebuilder:printcolumn:name="Policies",type=string,JSONPath=`.spec.managementPolicies`,priority=1
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`,priority=1
// +kubebuilder:printcolumn:name="Recording",type=string,JSONPath=`.status.cloudRecording`
// +kubebuilder:printcolumn:name="SDKAppID",type=integer,JSONPath=`.spec.sdkAppID`,priority=1
// +kubebuilder:printcolumn:name="Room Name",type=string,JSONPath=`.status.roomName`,priority=1
// +kubebuilder:printcolumn:name="Seats Taken",type=integer,JSONPath=`.status.seats.taken`,priority=1
// +kubebuilder:printcolumn:name="Recording Job",type=string,JSONPath=`.status.recording.jobName`,priority=1
// +kubebuilder:printcolumn:name="Recording Status",type=string,JSONPath=`.status.conditions[?(@.type=="Recording")].reason`,priority=1
// +kubebuilder:printcolumn:name="Last Event",type=string,JSONPath=`.status.lastCallbackCommand`,priority=1
// +kubebuilder:printcolumn:name="Last Resync",type=date,JSONPath=`.status.resync.time`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Room struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec identifies the Tencent room.
	// +required
	Spec RoomSpec `json:"spec"`

	// status is the room as Tencent last described it, and what roomsync
	// derived from it and did.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status RoomStatus `json:"status,omitempty"`
}

// RoomList is a list of Rooms.
//
// +kubebuilder:object:root=true
type RoomList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the Rooms.
	Items []Room `json:"items"`
}
