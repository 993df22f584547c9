package v1alpha1

// Condition types, as kstatus and Flux read them.
const (
	// ReadyCondition is True when the object is doing its job.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while the controller is working towards
	// the desired state.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when the object cannot make progress without
	// a human.
	StalledCondition = "Stalled"
)

// Condition reasons of a Room.
const (
	// RoomInfoReceivedReason: a room-info callback has been applied.
	RoomInfoReceivedReason = "RoomInfoReceived"
	// AwaitingRoomInfoReason: no room-info callback has been applied yet.
	// This waits on Tencent, not on the operator, so it is not Reconciling.
	AwaitingRoomInfoReason = "AwaitingRoomInfo"
	// RoomDestroyedReason: the room was destroyed; the Room mirrors it.
	RoomDestroyedReason = "RoomDestroyed"
	// DuplicateRoomIDReason: an older Room in the namespace has the same
	// sdkAppID and roomID and receives the room's callbacks instead.
	DuplicateRoomIDReason = "DuplicateRoomID"
)

// The Recording condition of a Room and its reasons.
const (
	// RecordingCondition is True while a recording Job runs for the room.
	RecordingCondition = "Recording"
	// RecordingStartedReason: the session's Job was created.
	RecordingStartedReason = "RecordingStarted"
	// RecordingStoppedReason: recording was disabled or the room destroyed.
	RecordingStoppedReason = "RecordingStopped"
	// RecordingFailedReason: the session's Job failed; it is not restarted.
	RecordingFailedReason = "RecordingFailed"
	// RecordingCompletedReason: the session's Job finished by itself.
	RecordingCompletedReason = "RecordingCompleted"
	// RecordingJobGoneReason: the session's Job went away while the session
	// was open; it is not recreated.
	RecordingJobGoneReason = "RecordingJobGone"
)

// Condition reasons of a ChatApp.
const (
	// AcceptingCallbacksReason: callbacks for the sdkAppID are accepted.
	AcceptingCallbacksReason = "AcceptingCallbacks"
	// TokenSecretNotFoundReason: the callback token Secret does not exist.
	TokenSecretNotFoundReason = "TokenSecretNotFound"
	// TokenKeyNotFoundReason: the token Secret lacks the key, or it is empty.
	TokenKeyNotFoundReason = "TokenKeyNotFound"
	// SDKAppIDConflictReason: an older ChatApp holds the same sdkAppID.
	SDKAppIDConflictReason = "SDKAppIDConflict"
	// RESTAPICredentialsRejectedReason: Tencent's REST API rejected the
	// administrator, the sdkAppID or the secret key; resync is stopped.
	RESTAPICredentialsRejectedReason = "RESTAPICredentialsRejected"
	// SecretKeyNotFoundReason: the secret key Secret or its key is missing.
	SecretKeyNotFoundReason = "SecretKeyNotFound"
	// RESTAPIBadAnswerReason: the REST API answered OK, but not as Tencent
	// documents the answer; the resync stopped and the next interval tries
	// again. Not Stalled: it may pass.
	RESTAPIBadAnswerReason = "RESTAPIBadAnswer"
)

// ResyncRequestedAtAnnotation asks for a resync of one Room from Tencent's
// REST API: each new value triggers one (like Flux's
// reconcile.fluxcd.io/requestedAt); status.resync.handledRequest holds the
// last value acted on.
const ResyncRequestedAtAnnotation = "chat.roomsync.io/resync-requested-at"

// Labels and well-known values.
const (
	// SecretLabel, set to "true", marks the Secrets roomsync reads (callback
	// tokens, REST API secret keys): its cache holds only Secrets with it.
	// A Secret without it still works, read from the API server at most
	// every 30 s, and its ChatApp gets a Warning Event saying to label it.
	SecretLabel = "chat.roomsync.io/secret"
	// SDKAppIDLabel carries the sdkAppID on Rooms that a callback created.
	SDKAppIDLabel = "chat.roomsync.io/sdk-app-id"
	// CreatedByLabel marks Rooms that the operator created, as opposed to
	// Rooms declared by users.
	CreatedByLabel = "chat.roomsync.io/created-by"
	// CreatedByCallback is the CreatedByLabel value of Rooms created by the
	// callback receiver.
	CreatedByCallback = "callback"
	// RoomLabel carries the name of the Room (a hashed short form when it is
	// longer than 63 characters) on its recording Jobs.
	RoomLabel = "chat.roomsync.io/room"
	// RecordingSessionLabel carries the session number on recording Jobs.
	RecordingSessionLabel = "chat.roomsync.io/recording-session"
	// ManagedByLabel and ManagedByValue mark the Jobs roomsync manages; its
	// cache only holds Jobs with this label.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "roomsync"
)
