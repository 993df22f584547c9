package lookup

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// The Room index watches Rooms with its own decoder: one pass of
// encoding/json over each event, keeping only what a RoomRef holds.
//
// With 100,000 Rooms a replica starts by streaming every Room (a watch
// with its initial events), and decoding that stream is most of its CPU
// while it starts. client-go's watch decoder reads each event several times
// over (the frame, the envelope's kind, the envelope, the object's kind,
// the object, each with its own validation) and builds the whole Room,
// managedFields and all, only for the index to keep a few fields of it. The
// catch-up after an outage plans from this index (controllers/resync.go),
// so how soon the index has every Room is how soon a catch-up starts.

// roomEvent is a watch event of Rooms as the API server writes it
// (metav1.WatchEvent), with the fields of its object the index reads.
type roomEvent struct {
	Type   watch.EventType `json:"type"`
	Object roomObject      `json:"object"`
}

// roomObject is a Room reduced to what RefOf reads, or, in an ERROR event,
// the metav1.Status that says why the watch ended. The two share "kind",
// "metadata" and "status": a Room's status is an object and a Status's a
// string (statusOrString).
type roomObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               types.UID         `json:"uid"`
		ResourceVersion   string            `json:"resourceVersion"`
		CreationTimestamp metav1.Time       `json:"creationTimestamp"`
		DeletionTimestamp *metav1.Time      `json:"deletionTimestamp"`
		Annotations       map[string]string `json:"annotations"` // a BOOKMARK's end of the initial events
	} `json:"metadata"`
	Spec struct {
		SDKAppID int64  `json:"sdkAppID"`
		RoomID   string `json:"roomID"`
	} `json:"spec"`
	Status statusOrString `json:"status"`

	// A metav1.Status's.
	Message string                `json:"message"`
	Reason  metav1.StatusReason   `json:"reason"`
	Details *metav1.StatusDetails `json:"details"`
	Code    int32                 `json:"code"`
}

// statusOrString is a Room's status, of which only what
// RoomStatus.LastActiveTime reads, or a metav1.Status's status string.
type statusOrString struct {
	room chatv1alpha1.RoomStatus
	str  string
}

// roomActivity is the part of a Room's status LastActiveTime reads.
type roomActivity struct {
	LastEventTime int64 `json:"lastEventTime"`
	Members       *struct {
		EventTime      int64       `json:"eventTime"`
		LastChangeTime metav1.Time `json:"lastChangeTime"`
	} `json:"members"`
	Seats *struct {
		EventTime int64 `json:"eventTime"`
	} `json:"seats"`
}

func (s *statusOrString) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &s.str)
	}
	var a roomActivity
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	s.room.LastEventTime = a.LastEventTime
	if a.Members != nil {
		s.room.Members = &chatv1alpha1.RoomMembers{EventTime: a.Members.EventTime, LastChangeTime: a.Members.LastChangeTime}
	}
	if a.Seats != nil {
		s.room.Seats = &chatv1alpha1.RoomSeats{EventTime: a.Seats.EventTime}
	}
	return nil
}

// roomWatchDecoder is a watch.Decoder of a watch of Rooms (JSON): each
// event's object is a Room holding what RefOf reads, a bookmark's Room its
// resourceVersion and annotations, and an ERROR's a *metav1.Status.
type roomWatchDecoder struct {
	body io.ReadCloser
	dec  *json.Decoder
}

func newRoomWatchDecoder(body io.ReadCloser) *roomWatchDecoder {
	return &roomWatchDecoder{body: body, dec: json.NewDecoder(body)}
}

func (d *roomWatchDecoder) Decode() (watch.EventType, runtime.Object, error) {
	var ev roomEvent
	if err := d.dec.Decode(&ev); err != nil {
		return "", nil, err
	}
	o := &ev.Object
	switch ev.Type {
	case watch.Added, watch.Modified, watch.Deleted, watch.Bookmark:
		if o.Kind != "Room" {
			return "", nil, fmt.Errorf("a watch of Rooms sent a %s event of a %q", ev.Type, o.Kind)
		}
		m := &o.Metadata
		room := &chatv1alpha1.Room{
			ObjectMeta: metav1.ObjectMeta{
				Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
				CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
			},
			Spec:   chatv1alpha1.RoomSpec{SDKAppID: o.Spec.SDKAppID, RoomID: o.Spec.RoomID},
			Status: o.Status.room,
		}
		if ev.Type == watch.Bookmark {
			room.Annotations = m.Annotations
		}
		return ev.Type, room, nil
	case watch.Error:
		return ev.Type, &metav1.Status{
			Status: o.Status.str, Message: o.Message, Reason: o.Reason, Details: o.Details, Code: o.Code,
		}, nil
	default:
		return "", nil, fmt.Errorf("a watch of Rooms sent an event of type %q", ev.Type)
	}
}

func (d *roomWatchDecoder) Close() { _ = d.body.Close() }

// newRoomWatcher is a watch.Interface of the Rooms that body streams.
func newRoomWatcher(body io.ReadCloser) watch.Interface {
	return watch.NewStreamWatcher(newRoomWatchDecoder(body),
		// As client-go's own watches report an event they cannot decode.
		apierrors.NewClientErrorReporter(http.StatusInternalServerError, "GET", "ClientWatchDecoding"))
}
