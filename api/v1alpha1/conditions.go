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
	// SyncedCondition (Rooms with spec.settings) is True when the room in
	// Tencent matches every field of spec.settings.
	SyncedCondition = "Synced"
	// CallbackRegisteredCondition (ChatApps with spec.callbackRegistration)
	// is True when Tencent's callback configuration for the app matches it.
	CallbackRegisteredCondition = "CallbackRegistered"
)

// Condition reasons of a Room.
const (
	// RoomInfoReceivedReason: room info has been applied, from a create or
	// update callback or a read of the REST API.
	RoomInfoReceivedReason = "RoomInfoReceived"
	// AwaitingRoomInfoReason: no room info has been applied yet (no create
	// or update callback, no read of the REST API). This waits on Tencent,
	// not on the operator, so it is not Reconciling.
	AwaitingRoomInfoReason = "AwaitingRoomInfo"
	// RoomDestroyedReason: the room was destroyed; the Room mirrors it.
	RoomDestroyedReason = "RoomDestroyed"
	// DuplicateRoomIDReason: an older Room in the namespace has the same
	// sdkAppID and roomID and receives the room's callbacks instead.
	DuplicateRoomIDReason = "DuplicateRoomID"

	// SettingsMatchReason (Synced=True): the room matches spec.settings.
	SettingsMatchReason = "SettingsMatch"
	// SettingsDifferReason (Synced=False): some managed settings differ;
	// the message names them.
	SettingsDifferReason = "SettingsDiffer"
	// RoomNotObservedReason (Synced=False): the room has not been read or
	// called back yet, or it does not exist.
	RoomNotObservedReason = "RoomNotObserved"
	// CreatingReason (Reconciling=True): roomsync is creating the room.
	CreatingReason = "Creating"
	// UpdatingReason (Reconciling=True): roomsync is bringing the room to a
	// changed spec.settings.
	UpdatingReason = "Updating"
	// DriftRevertPendingReason (Synced=False): the room was changed in the
	// app; roomsync changes it back at most once per resyncInterval.
	DriftRevertPendingReason = "DriftRevertPending"
	// RoomAlreadyExistsReason (Stalled): the room exists in Tencent and this
	// Room did not create it; spec.adoptExisting lets it take over.
	RoomAlreadyExistsReason = "RoomAlreadyExists"
	// TencentRejectedReason (Stalled): Tencent refused a call with an error
	// the same call would get again (bad parameter, no permission); the
	// message has its ErrorCode and ErrorInfo.
	TencentRejectedReason = "TencentRejected"
	// TencentUnavailableReason: Tencent could not be reached, or failed
	// inside; roomsync tries again with backoff.
	TencentUnavailableReason = "TencentUnavailable"
	// RESTAPINotConfiguredReason (Stalled): the Room manages its room but
	// its ChatApp is missing or has no spec.restAPI.
	RESTAPINotConfiguredReason = "RESTAPINotConfigured"
	// CreateOnlySettingDiffersReason (Stalled): a create-only setting
	// differs from the room, which update_room_info cannot change.
	CreateOnlySettingDiffersReason = "CreateOnlySettingDiffers"
	// RoomDestroyedInAppReason (Stalled): the room this Room created was
	// destroyed in the app; roomsync does not create it again by itself.
	RoomDestroyedInAppReason = "RoomDestroyedInApp"
)

// Event reasons of managed Rooms.
const (
	// RoomCreatedEvent: create_room made the room.
	RoomCreatedEvent = "RoomCreated"
	// RoomAdoptedEvent: an existing room was taken over (adoptExisting).
	RoomAdoptedEvent = "RoomAdopted"
	// DriftRevertedEvent: update_room_info changed back settings the app
	// had changed.
	DriftRevertedEvent = "DriftReverted"
	// RoomUpdatedEvent: update_room_info brought the room to a changed spec.
	RoomUpdatedEvent = "RoomUpdated"
	// RoomDestroyedEvent: destroy_room destroyed the room with its Room.
	RoomDestroyedEvent = "RoomDestroyed"
	// OrphanedEvent: the room was left in Tencent when its Room went or
	// lost its destroy-room finalizer: Tencent could not be asked, the Room
	// neither created nor adopted the room, or roomsync no longer watches
	// the Room's namespace.
	OrphanedEvent = "Orphaned"
	// RoomNotDestroyedEvent: a Room that did not hold its roomID (a
	// duplicate) lost its destroy-room finalizer without a call to Tencent:
	// the room is the holder's.
	RoomNotDestroyedEvent = "RoomNotDestroyed"
)

// DestroyRoomFinalizer keeps a Room that holds its roomID and whose
// managementPolicies include Delete until its room is destroyed in Tencent
// (or cannot be).
const DestroyRoomFinalizer = "chat.roomsync.io/destroy-room"

// FinalizerOwnerAnnotation names the roomsync (the namespace it runs in)
// that put DestroyRoomFinalizer on a Room: when that roomsync no longer
// watches the Room's namespace, it removes the finalizer on its next start,
// and no other roomsync touches it.
const FinalizerOwnerAnnotation = "chat.roomsync.io/finalizer-owner"

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
	// SDKAppIDConflictReason: an older ChatApp of the same sdkAppID takes
	// this one's callbacks: it has the same callback token, or this one has
	// no callbackAuth and the other does (or is older and has none either).
	// A ChatApp with another token is no conflict: each gets the callbacks
	// its token verifies.
	SDKAppIDConflictReason = "SDKAppIDConflict"
	// CallbackAuthRequiredReason: the ChatApp has no spec.callbackAuth and
	// the operator does not accept unsigned callbacks
	// (--allow-unsigned-callbacks is off): its callbacks are answered 401.
	CallbackAuthRequiredReason = "CallbackAuthRequired"
	// RESTAPICredentialsRejectedReason: Tencent's REST API rejected the
	// administrator, the sdkAppID or the secret key. The ChatApp (or the
	// Room whose call it was) is Stalled; resync is stopped until the next
	// interval or a change of the ChatApp or its Secret.
	RESTAPICredentialsRejectedReason = "RESTAPICredentialsRejected"
	// SecretKeyNotFoundReason: the secret key Secret or its key is missing.
	SecretKeyNotFoundReason = "SecretKeyNotFound"
	// RESTAPIBadAnswerReason: the REST API answered OK, but not as Tencent
	// documents the answer; the resync stopped and the next interval tries
	// again. Not Stalled: it may pass.
	RESTAPIBadAnswerReason = "RESTAPIBadAnswer"
	// NoReplicaServingReason (status.resync.catchUp): a replica started
	// while no other replica was serving callbacks, so callbacks sent
	// meanwhile were lost.
	NoReplicaServingReason = "NoReplicaServing"
	// EventsNotStoredReason (status.resync.catchUp): callbacks were
	// answered with an error after they were authenticated, or spooled
	// events were dead-lettered: their rooms missed events.
	EventsNotStoredReason = "EventsNotStored"
	// CallbackRegisteredReason: Tencent sends the app's callbacks to
	// spec.callbackRegistration.url, with its commands.
	CallbackRegisteredReason = "Registered"
	// CallbackURLTakenReason: Tencent sends the app's callbacks to another
	// URL and spec.callbackRegistration.takeOver is false.
	CallbackURLTakenReason = "CallbackURLTaken"
)

// Event reasons of ChatApps.
const (
	// CallbacksUnauthenticatedEvent (Warning): the ChatApp accepts unsigned
	// callbacks (no spec.callbackAuth, and --allow-unsigned-callbacks is
	// on).
	CallbacksUnauthenticatedEvent = "CallbacksUnauthenticated"
	// CallbackRegisteredEvent: roomsync set the app's callback
	// configuration in Tencent.
	CallbackRegisteredEvent = "CallbackRegistered"
	// CallbackRestoredEvent: the configuration was changed outside roomsync
	// (the console) and roomsync set it back.
	CallbackRestoredEvent = "CallbackRestored"
)

// ResyncRequestedAtAnnotation asks for a resync from Tencent's REST API: on
// a Room, of that Room; on a ChatApp, one full pass over its Rooms. Each new
// value triggers one (like Flux's reconcile.fluxcd.io/requestedAt);
// status.resync.handledRequest holds the last value acted on.
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
