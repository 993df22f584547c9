package roomstore

import (
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
	"github.com/roomsync/roomsync/internal/tencent"
)

// spooledVersion is the version of the spooled record's encoding. A record
// of another version is not guessed at: it is dead-lettered, with its bytes.
const spooledVersion = 1

// spooledEvent is what the spool keeps of a callback: the event, as the
// receiver checked it, and the ChatApp it was accepted for.
type spooledEvent struct {
	Version int    `json:"v"`
	App     appRef `json:"app"`
	Event   Event  `json:"event"`
}

// appRef names the ChatApp an event was accepted for. The UID tells a
// ChatApp deleted and created again under the same name from the original.
type appRef struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
	SDKAppID  int64     `json:"sdkAppID"`
}

func refOf(app *chatv1alpha1.ChatApp) appRef {
	return appRef{Namespace: app.Namespace, Name: app.Name, UID: app.UID, SDKAppID: app.Spec.SDKAppID}
}

func (r appRef) String() string {
	return fmt.Sprintf("%s/%s (sdkAppID %d)", r.Namespace, r.Name, r.SDKAppID)
}

func encodeSpooled(app *chatv1alpha1.ChatApp, ev Event) ([]byte, error) {
	return json.Marshal(spooledEvent{Version: spooledVersion, App: refOf(app), Event: ev})
}

// decodeSpooled decodes a spooled record and checks it as the receiver
// checked the callback: any record that fails is reported, never written.
func decodeSpooled(data []byte) (spooledEvent, error) {
	var rec spooledEvent
	if err := json.Unmarshal(data, &rec); err != nil {
		return spooledEvent{}, fmt.Errorf("spooled record does not decode: %w", err)
	}
	if rec.Version != spooledVersion {
		return spooledEvent{}, fmt.Errorf("spooled record has version %d; this roomsync reads version %d", rec.Version, spooledVersion)
	}
	if rec.App.Namespace == "" || rec.App.Name == "" || rec.App.SDKAppID <= 0 {
		return spooledEvent{}, errors.New("spooled record names no ChatApp")
	}
	ev := rec.Event
	if err := tencent.ValidateRoomID(ev.RoomID); err != nil {
		return spooledEvent{}, fmt.Errorf("spooled record: RoomId: %w", err)
	}
	if ev.EventTime <= 0 {
		return spooledEvent{}, fmt.Errorf("spooled record: EventTime %d is not positive", ev.EventTime)
	}
	changes := 0
	for _, set := range []bool{ev.RoomInfo != nil, ev.Destroy != nil, ev.Members != nil, ev.Seats != nil} {
		if set {
			changes++
		}
	}
	if changes != 1 {
		return spooledEvent{}, fmt.Errorf("spooled record carries %d changes, want exactly one", changes)
	}
	if err := Validate(ev); err != nil {
		return spooledEvent{}, fmt.Errorf("spooled record: %w", err)
	}
	return rec, nil
}
