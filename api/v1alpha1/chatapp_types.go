package v1alpha1

import (
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ChatAppSpec describes one Tencent Cloud Chat application whose callbacks
// this cluster accepts. Its rooms are mirrored into the ChatApp's namespace.
// +kubebuilder:validation:XValidation:rule="!has(self.callbackRegistration) || has(self.restAPI)",message="callbackRegistration needs restAPI: roomsync registers the URL through the REST API"
type ChatAppSpec struct {
	// sdkAppID is the application's SDKAppID, as sent in the SdkAppid query
	// parameter of every callback. When several ChatApps claim one sdkAppID,
	// the oldest holds it and the others are Stalled.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="sdkAppID is immutable"
	SDKAppID int64 `json:"sdkAppID"`

	// callbackAuth, when set, makes every callback carry a valid Sign, made
	// with the application's callback token, and a RequestTime within
	// maxClockSkew. Without it callbacks are not authenticated.
	// +optional
	CallbackAuth *CallbackAuth `json:"callbackAuth,omitempty"`

	// autoCreateRooms lets a create or update callback for a room that has
	// no Room yet create one (other callbacks never do). When false, such
	// callbacks are answered OK and ignored, so only Rooms declared by users
	// are mirrored.
	// +optional
	// +kubebuilder:default=true
	AutoCreateRooms *bool `json:"autoCreateRooms,omitempty"`

	// roomRetention is how long a Room that a callback created is kept after
	// its room was destroyed, counted from when roomsync received the
	// destroy callback or found the room gone in a resync
	// (status.destroyed.receivedTime); then roomsync deletes it and records
	// it in status.deletedRooms. 0 keeps such Rooms. Rooms that users
	// created are never deleted.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="roomRetention must not be negative"
	RoomRetention *metav1.Duration `json:"roomRetention,omitempty"`

	// recording, when set, makes roomsync run a recording Job for each room
	// whose cloud recording is enabled, and stop it when it is disabled or
	// the room is destroyed.
	// +optional
	Recording *RecordingSpec `json:"recording,omitempty"`

	// restAPI lets roomsync read the app's rooms from Tencent's REST API and
	// heal what missed callbacks left out of date (resync): when the operator
	// starts, every resyncInterval, for a Room annotated with
	// chat.roomsync.io/resync-requested-at, and for all of them when the
	// ChatApp is. No resync when absent. Rooms that change their room in
	// Tencent (spec.managementPolicies) and callbackRegistration need it
	// too.
	// +optional
	RestAPI *RestAPISpec `json:"restAPI,omitempty"`

	// callbackRegistration makes roomsync register the app's callback URL
	// with Tencent (room_config/set_callback or update_callback) and keep it
	// there: on start, when this changes, and every resyncInterval, using
	// restAPI. Removing it leaves Tencent's configuration as it is.
	// +optional
	CallbackRegistration *CallbackRegistration `json:"callbackRegistration,omitempty"`
}

// CallbackRegistration is the callback configuration roomsync keeps in
// Tencent for the app.
type CallbackRegistration struct {
	// url is where Tencent sends the app's callbacks: this operator's
	// receiver as Tencent reaches it, e.g.
	// https://roomsync.example.com/callback.
	// +required
	// +kubebuilder:validation:MinLength=8
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://')",message="url must be an http:// or https:// URL"
	URL string `json:"url"`

	// commands are the callbacks Tencent sends: every command roomsync
	// handles when empty. Room.CallbackUpdateRoomInfo (the older spelling)
	// and Room.CallbackAfterUpdateRoomInfo count as the same.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:Enum=Room.CallbackAfterCreateRoom;Room.CallbackAfterUpdateRoomInfo;Room.CallbackUpdateRoomInfo;Room.CallbackAfterDestroyRoom;Room.CallbackAfterMemberEnter;Room.CallbackAfterMemberLeave;Mic.CallbackAfterSeatInfoChanged
	Commands []string `json:"commands,omitempty"`

	// takeOver lets roomsync replace a callback URL that Tencent has and
	// that is not url, for example another cluster's. Without it roomsync
	// changes nothing then, and the CallbackRegistered condition names the
	// URL Tencent has, so that two clusters do not fight over one app.
	// +optional
	// +kubebuilder:default=false
	TakeOver bool `json:"takeOver,omitempty"`
}

// CallbackRegistrationStatus is the app's callback configuration as Tencent
// last reported it.
type CallbackRegistrationStatus struct {
	// url is the callback URL Tencent has; empty when it has none.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	URL string `json:"url,omitempty"`

	// commands are the callback commands Tencent sends to it.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	Commands []string `json:"commands,omitempty"`

	// checkTime is when roomsync last read it.
	// +optional
	CheckTime *metav1.Time `json:"checkTime,omitempty"`

	// reason says whether it matches spec.callbackRegistration: Registered,
	// or CallbackURLTaken (another URL, and no takeOver), or why it could
	// not be read or set (RESTAPICredentialsRejected, TencentRejected,
	// TencentUnavailable, RESTAPIBadAnswer, SecretKeyNotFound), or
	// SDKAppIDConflict (an older ChatApp holds the sdkAppID and registers
	// instead), or RESTAPINotConfigured (no restAPI to call).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason,omitempty"`

	// message says it in words.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`

	// observedGeneration is the metadata.generation it was checked for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// RestAPISpec is how to call the app's Tencent REST API. roomsync calls it
// to resync Rooms, for Rooms that manage their room
// (spec.managementPolicies), and for spec.callbackRegistration.
type RestAPISpec struct {
	// endpoint is the base URL of the REST API's domain for the app's region
	// (Singapore by default; console.tim.qq.com for the Chinese mainland).
	// +optional
	// +kubebuilder:default="https://adminapisgp.im.qcloud.com"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://')",message="endpoint must be an http:// or https:// URL"
	Endpoint string `json:"endpoint,omitempty"`

	// administrator is the UserID of an app administrator: the REST API is
	// called as this user.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Administrator string `json:"administrator"`

	// secretKeyRef names the Secret, in the ChatApp's namespace, and its key
	// that hold the app's secret key (SDKSecretKey), which signs the UserSig.
	// +required
	SecretKeyRef SecretKeyReference `json:"secretKeyRef"`

	// resyncInterval is how long a live Room may go without confirmation,
	// by a callback or a read, before the sweep reads it again (least
	// recently confirmed first, within resyncRequestsPerSecond; a Room whose
	// callbacks keep coming is not read). It is also how often the callback
	// registration is checked, how long a Room stalled by a refusal waits before it tries
	// again, and the least time between two reverts of a declared Room's
	// settings changed in the app.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="resyncInterval must be at least 1s"
	ResyncInterval *metav1.Duration `json:"resyncInterval,omitempty"`

	// requestsPerSecond caps roomsync's calls to the REST API for this app,
	// across all its Rooms and for everything roomsync calls it for;
	// Tencent allows 200 per second per app.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=200
	RequestsPerSecond *int32 `json:"requestsPerSecond,omitempty"`

	// resyncRequestsPerSecond is the share of requestsPerSecond the sweep
	// may use: the rest is left for declared rooms, the callback
	// registration, a catch-up after callbacks may have been lost, and
	// resync requests. Whatever the number of Rooms, the sweep calls the
	// REST API at most this often; with more quiet Rooms than it can read
	// in a resyncInterval, each is read less often (status.resync.period
	// says how often). At most requestsPerSecond.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=200
	ResyncRequestsPerSecond *int32 `json:"resyncRequestsPerSecond,omitempty"`
}

// SecretKeyReference names a key of a Secret in the ChatApp's namespace.
type SecretKeyReference struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the key in the Secret's data.
	// +optional
	// +kubebuilder:default=secretKey
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// ChatAppResync is the state of the app's resyncs from the REST API. The
// resync controller owns it, but catchUp.
type ChatAppResync struct {
	// startTime is when the current or last pass started. A pass reads the
	// live Rooms not confirmed (by a callback or a read) for a
	// resyncInterval, least recently confirmed first; a requested pass
	// reads them all.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the last pass finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// rooms is how many live Rooms the current or last pass reads.
	// +optional
	Rooms int64 `json:"rooms,omitempty"`

	// liveRooms is how many live Rooms the app had when the current or last
	// sweep or full pass started (a catch-up leaves it, and period, as the
	// sweep found them).
	// +optional
	LiveRooms int64 `json:"liveRooms,omitempty"`

	// period is the longest any live Room had gone without confirmation
	// when the current or last sweep started: every live Room is read, or
	// hears a callback, at least this often. It stays near resyncInterval
	// while the sweep's budget (resyncRequestsPerSecond) keeps up with the
	// quiet Rooms, and grows when it does not.
	// +optional
	Period *metav1.Duration `json:"period,omitempty"`

	// catchUp, when set, asks for the Rooms that may have missed callbacks
	// to be read ahead of the sweep, at the app's whole budget: roomsync
	// sets it when it started while no replica was serving callbacks. It
	// is cleared when the catch-up is done.
	// +optional
	CatchUp *ResyncCatchUp `json:"catchUp,omitempty"`

	// checked is how many of them it has read so far.
	// +optional
	Checked int64 `json:"checked,omitempty"`

	// drifted is how many of those it found out of date.
	// +optional
	Drifted int64 `json:"drifted,omitempty"`

	// failure is why the last resync failed (rejected credentials, a
	// missing secret key, an answer not as Tencent documents it), until a
	// later full resync reads a room.
	// +optional
	Failure *ResyncFailure `json:"failure,omitempty"`

	// handledRequest is the last value of the ChatApp's annotation
	// chat.roomsync.io/resync-requested-at that was acted on: written once
	// the full resync it started has finished, or failed (also when no
	// resync could run: see the ChatApp's events).
	// +optional
	HandledRequest string `json:"handledRequest,omitempty"`
}

// ResyncCatchUp is a catch-up asked for: callbacks may have been lost.
type ResyncCatchUp struct {
	// since, when set, is the moment from which any callback may have been
	// lost (no replica was serving; when the last one stopped). The
	// catch-up reads, most recently active first, each live Room active
	// since a resyncInterval before it.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`

	// rooms are the RoomIds of the rooms whose events roomsync knows it
	// lost: a callback answered with an error after it was authenticated,
	// or a spooled event dead-lettered. They are read first. When more
	// than 100 are lost, since is set to the first loss instead.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=48
	Rooms []string `json:"rooms,omitempty"`

	// reason says why: NoReplicaServing, or EventsNotStored (callbacks
	// answered with an error, events dead-lettered); the first asked for.
	// +required
	Reason string `json:"reason"`
}

// ResyncFailure is why resync stopped.
type ResyncFailure struct {
	// reason is RESTAPICredentialsRejected or SecretKeyNotFound (the
	// ChatApp is Stalled until the next interval or a change of the ChatApp
	// or its Secret), or RESTAPIBadAnswer (not Stalled: the next interval
	// tries again).
	// +required
	Reason string `json:"reason"`

	// message says what failed; for a rejection, Tencent's ErrorCode and
	// ErrorInfo.
	// +required
	Message string `json:"message"`

	// time is when it failed.
	// +required
	Time metav1.Time `json:"time"`
}

// RecordingSpec says how to record a room.
type RecordingSpec struct {
	// jobTemplate is the Job each recording session runs, as in a CronJob.
	// Every container and init container gets the room's identity in
	// environment variables (ROOMSYNC_SDK_APP_ID, ROOMSYNC_ROOM_ID,
	// ROOMSYNC_ROOM_NAME, ROOMSYNC_ROOM_RESOURCE, ROOMSYNC_OWNER,
	// ROOMSYNC_RECORDING_SESSION), replacing variables of those names.
	// +required
	JobTemplate batchv1.JobTemplateSpec `json:"jobTemplate"`

	// successfulJobsHistoryLimit is how many finished, successful recording
	// Jobs of a room are kept.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	SuccessfulJobsHistoryLimit *int32 `json:"successfulJobsHistoryLimit,omitempty"`

	// failedJobsHistoryLimit is how many failed recording Jobs of a room are
	// kept.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	FailedJobsHistoryLimit *int32 `json:"failedJobsHistoryLimit,omitempty"`
}

// CallbackAuth configures the callback token authentication (Sign and
// RequestTime query parameters).
type CallbackAuth struct {
	// tokenSecretRef names the Secret, in the ChatApp's namespace, and the key
	// in it that holds the callback token configured in Tencent's console.
	// +required
	TokenSecretRef TokenSecretReference `json:"tokenSecretRef"`

	// maxClockSkew is how far RequestTime may be from the receiver's clock, in
	// either direction, before a callback is rejected as a possible replay.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('1h')",message="maxClockSkew must be more than 0s and at most 1h"
	MaxClockSkew *metav1.Duration `json:"maxClockSkew,omitempty"`
}

// TokenSecretReference names the keys of a Secret, in the ChatApp's
// namespace, that hold callback tokens.
// +kubebuilder:validation:XValidation:rule="!has(self.previousKey) || self.previousKey != self.key",message="previousKey must differ from key"
type TokenSecretReference struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the key in the Secret's data.
	// +optional
	// +kubebuilder:default=token
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`

	// previousKey is a second key of the same Secret whose token is also
	// accepted while it exists and is not empty: for rotating the token
	// without refusing callbacks (see docs/concepts.md, Rotating the callback
	// token).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	PreviousKey string `json:"previousKey,omitempty"`
}

// DeletedRoom records a Room that roomsync deleted after its retention, so
// that a late event older than the destroy does not bring it back.
type DeletedRoom struct {
	// roomID is the Tencent RoomId.
	// +required
	// +kubebuilder:validation:MaxLength=48
	RoomID string `json:"roomID"`

	// destroyEventTime is the EventTime (Unix milliseconds) of the room's
	// destroy. A create or update callback not newer than it is answered
	// stale rather than create the Room again.
	// +required
	DestroyEventTime int64 `json:"destroyEventTime"`

	// deletedTime is when roomsync deleted the Room.
	// +required
	DeletedTime metav1.Time `json:"deletedTime"`
}

// ChatAppStatus is the observed state of a ChatApp.
//
// Several writers share it, each with its own server-side apply field
// manager: the ChatApp controller writes observedGeneration, conditions and
// roomCount (roomsync-chatapp-controller); the callback receiver
// lastCallbackTime (roomsync-callback-receiver); the Room controller
// deletedRooms when it deletes a Room after its retention
// (roomsync-room-retention); the resync controller resync (roomsync-resync,
// and roomsync-resync-request for resync.handledRequest); the callback
// registration controller callbackRegistration
// (roomsync-callback-registration).
type ChatAppStatus struct {
	// observedGeneration is the metadata.generation the ChatApp controller
	// last reconciled. It is -1 until the controller has looked at it.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the ChatApp's state. Ready is True when its
	// callbacks are accepted (token Secret readable, sdkAppID held by this
	// ChatApp) and nothing needs a human. Stalled is True when something
	// does: a missing token Secret or key (callbacks are answered 401), the
	// sdkAppID held by an older ChatApp, REST API credentials rejected or a
	// missing secret key, or, with spec.callbackRegistration, another URL
	// registered in Tencent. CallbackRegistered (only with
	// spec.callbackRegistration) says whether Tencent's callback
	// configuration matches it; Reconciling is True until the current
	// generation has been checked.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// lastCallbackTime is when a callback for this ChatApp was last answered
	// OK (written at most every 30 seconds).
	// +optional
	LastCallbackTime *metav1.Time `json:"lastCallbackTime,omitempty"`

	// roomCount is how many Rooms in the ChatApp's namespace have its
	// sdkAppID, destroyed ones and duplicates included.
	// +optional
	RoomCount *int64 `json:"roomCount,omitempty"`

	// deletedRooms are the Rooms deleted after their retention, newest
	// first (at most 1000: the oldest record is dropped), so that a late
	// event does not bring them back.
	// +optional
	// +listType=map
	// +listMapKey=roomID
	// +kubebuilder:validation:MaxItems=1000
	DeletedRooms []DeletedRoom `json:"deletedRooms,omitempty"`

	// resync is the state of the resyncs from the REST API (spec.restAPI).
	// +optional
	Resync *ChatAppResync `json:"resync,omitempty"`

	// callbackRegistration is the app's callback configuration as Tencent
	// last reported it (spec.callbackRegistration).
	// +optional
	CallbackRegistration *CallbackRegistrationStatus `json:"callbackRegistration,omitempty"`
}

// ChatApp is one Tencent Cloud Chat application whose room callbacks this
// cluster accepts and, with spec.restAPI, whose REST API roomsync calls.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=chatapps,shortName=chat,categories=roomsync
// +kubebuilder:selectablefield:JSONPath=`.spec.sdkAppID`
// +kubebuilder:printcolumn:name="SDKAppID",type=integer,JSONPath=`.spec.sdkAppID`
// +kubebuilder:printcolumn:name="Token Secret",type=string,JSONPath=`.spec.callbackAuth.tokenSecretRef.name`
// +kubebuilder:printcolumn:name="Rooms",type=integer,JSONPath=`.status.roomCount`
// +kubebuilder:printcolumn:name="Last Callback",type=date,JSONPath=`.status.lastCallbackTime`
// +kubebuilder:printcolumn:name="Auto Create",type=boolean,JSONPath=`.spec.autoCreateRooms`,priority=1
// +kubebuilder:printcolumn:name="Last Resync",type=date,JSONPath=`.status.resync.completionTime`,priority=1
// +kubebuilder:printcolumn:name="Drifted",type=integer,JSONPath=`.status.resync.drifted`,priority=1
// +kubebuilder:printcolumn:name="Callback URL",type=string,JSONPath=`.status.callbackRegistration.url`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ChatApp struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the application.
	// +required
	Spec ChatAppSpec `json:"spec"`

	// status is the observed state of the ChatApp.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status ChatAppStatus `json:"status,omitempty"`
}

// ChatAppList is a list of ChatApps.
//
// +kubebuilder:object:root=true
type ChatAppList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ChatApps.
	Items []ChatApp `json:"items"`
}
