package lookup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	restclientwatch "k8s.io/client-go/rest/watch"
	"k8s.io/utils/ptr"

	chatv1alpha1 "github.com/roomsync/roomsync/api/v1alpha1"
)

// watchedRoom is a Room as the API server sends it with 100,000 Rooms
// seeded by the scale bench: a full status, labels, annotations and the
// managedFields of two field managers.
func watchedRoom(i int) *chatv1alpha1.Room {
	at := int64(1_764_000_000_000) - int64(i)*1000
	fields := metav1.NewFieldsV1(`{"f:status":{".":{},"f:lastEventTime":{},"f:members":{".":{},"f:eventTime":{},"f:left":{}},"f:phase":{},"f:roomName":{},"f:seats":{".":{},"f:eventTime":{},"f:taken":{},"f:total":{}}}}`)
	return &chatv1alpha1.Room{
		TypeMeta: metav1.TypeMeta{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "Room"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "school", Name: fmt.Sprintf("room-%06d", i), UID: types.UID(fmt.Sprintf("uid-%d", i)),
			ResourceVersion: fmt.Sprint(1000 + i), Generation: 1,
			CreationTimestamp: metav1.NewTime(time.UnixMilli(at - 3_600_000).UTC().Truncate(time.Second)),
			Labels:            map[string]string{chatv1alpha1.SDKAppIDLabel: "1400000001", chatv1alpha1.CreatedByLabel: chatv1alpha1.CreatedByCallback},
			Annotations:       map[string]string{"example.com/note": "not kept"},
			Finalizers:        []string{"chat.roomsync.io/recording"},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "roomsync-callback", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "chat.roomsync.io/v1alpha1", FieldsType: "FieldsV1", FieldsV1: fields, Subresource: "status"},
				{Manager: "roomsync-resync", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "chat.roomsync.io/v1alpha1", FieldsType: "FieldsV1", FieldsV1: fields, Subresource: "status"},
			},
		},
		Spec: chatv1alpha1.RoomSpec{SDKAppID: 1400000001, RoomID: fmt.Sprintf("scale-room-%06d", i)},
		Status: chatv1alpha1.RoomStatus{
			RoomName: fmt.Sprintf("Lesson %d", i), OwnerAccount: "teacher", RoomType: "Conference",
			TakeSeatMode: "ApplyToTake", MaxMemberCount: 300, MaxSeatCount: 16, SeatEnabled: ptr.To(true),
			CloudRecordingDisabled: ptr.To(true), CreateTime: at/1000 - 3600, Phase: chatv1alpha1.RoomPhaseActive,
			MemberCount: ptr.To(int64(i % 300)),
			Members: &chatv1alpha1.RoomMembers{EventTime: at - 5, Left: int64(i % 7),
				LastChangeTime: metav1.NewTime(time.UnixMilli(at + int64(i%3)*1000).UTC().Truncate(time.Second))},
			Seats:         &chatv1alpha1.RoomSeats{Total: 16, Taken: int64(i % 16), EventTime: at + int64(i%5)},
			LastEventTime: at, LastOperator: "student", LastCallbackCommand: "Room.CallbackAfterMemberEnter",
			LastClientIP: "198.51.100.7", LastOptPlatform: "Web",
		},
	}
}

// watchStream is what the API server writes for events: one
// metav1.WatchEvent of JSON per line.
func watchStream(t testing.TB, events ...watch.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, ev := range events {
		raw, err := json.Marshal(ev.Object)
		if err != nil {
			t.Fatal(err)
		}
		line, err := json.Marshal(metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: raw}})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(line, '\n'))
	}
	return buf.Bytes()
}

// clientGoDecoder is client-go's decoder of a JSON watch of Rooms, as a
// typed client of Rooms makes it.
func clientGoDecoder(t testing.TB, body io.ReadCloser) watch.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := chatv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	codecs := serializer.NewCodecFactory(scheme)
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	if !ok {
		t.Fatal("no JSON serializer")
	}
	events := streaming.NewDecoder(info.StreamSerializer.NewFrameReader(body), info.StreamSerializer.Serializer)
	return restclientwatch.NewDecoder(events, codecs.WithoutConversion().DecoderToVersion(info.Serializer, chatv1alpha1.GroupVersion))
}

func TestRoomWatchDecoderKeepsWhatTheIndexKeeps(t *testing.T) {
	deleting := watchedRoom(3)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1_800_000_000, 0)}
	bare := watchedRoom(4)
	bare.Status = chatv1alpha1.RoomStatus{}
	stream := watchStream(t,
		watch.Event{Type: watch.Added, Object: watchedRoom(1)},
		watch.Event{Type: watch.Modified, Object: watchedRoom(2)},
		watch.Event{Type: watch.Added, Object: bare},
		watch.Event{Type: watch.Deleted, Object: deleting},
	)
	ours := newRoomWatchDecoder(io.NopCloser(bytes.NewReader(stream)))
	theirs := clientGoDecoder(t, io.NopCloser(bytes.NewReader(stream)))
	for i := range 4 {
		typ, obj, err := ours.Decode()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		wantType, want, err := theirs.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if typ != wantType {
			t.Errorf("event %d: type %s, want %s", i, typ, wantType)
		}
		room, ok := obj.(*chatv1alpha1.Room)
		if !ok {
			t.Fatalf("event %d: a %T", i, obj)
		}
		if got, want := *RefOf(room), *RefOf(want.(*chatv1alpha1.Room)); !equalRefs(got, want) {
			t.Errorf("event %d: ref\n%+v\nwant\n%+v", i, got, want)
		}
		if room.Annotations != nil || room.ManagedFields != nil || room.Status.RoomName != "" {
			t.Errorf("event %d: kept more than a RoomRef reads: %+v", i, room.ObjectMeta)
		}
	}
	if _, _, err := ours.Decode(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last event: %v, want io.EOF", err)
	}
}

func equalRefs(a, b RoomRef) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && a.UID == b.UID && a.ResourceVersion == b.ResourceVersion &&
		a.CreationTimestamp.Equal(&b.CreationTimestamp) && a.DeletionTimestamp.Equal(b.DeletionTimestamp) &&
		a.SDKAppID == b.SDKAppID && a.RoomID == b.RoomID && a.LastActive == b.LastActive
}

// A bookmark keeps its annotations (the end of the initial events of a
// watch-list), and an ERROR event is the API server's Status: an expired
// resourceVersion must reach the reflector as one, so that it lists anew.
func TestRoomWatchDecoderBookmarksAndErrors(t *testing.T) {
	bookmark := &chatv1alpha1.Room{
		TypeMeta:   metav1.TypeMeta{APIVersion: chatv1alpha1.GroupVersion.String(), Kind: "Room"},
		ObjectMeta: metav1.ObjectMeta{ResourceVersion: "42", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}},
	}
	expired := &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Message: "too old resource version: 1 (42)",
		Reason: metav1.StatusReasonExpired, Code: 410,
	}
	d := newRoomWatchDecoder(io.NopCloser(bytes.NewReader(watchStream(t,
		watch.Event{Type: watch.Bookmark, Object: bookmark}, watch.Event{Type: watch.Error, Object: expired}))))

	typ, obj, err := d.Decode()
	if err != nil || typ != watch.Bookmark {
		t.Fatalf("bookmark: %s, %v", typ, err)
	}
	if room := obj.(*chatv1alpha1.Room); room.ResourceVersion != "42" || room.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
		t.Errorf("bookmark: %+v", room.ObjectMeta)
	}

	typ, obj, err = d.Decode()
	if err != nil || typ != watch.Error {
		t.Fatalf("error event: %s, %v", typ, err)
	}
	if err := apierrors.FromObject(obj); !apierrors.IsResourceExpired(err) || !strings.Contains(err.Error(), "too old resource version") {
		t.Errorf("error event: %v (%T)", err, obj)
	}
}

func TestRoomWatchDecoderRejectsWhatIsNotAWatchOfRooms(t *testing.T) {
	secret := []byte(`{"type":"ADDED","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"}}}` + "\n")
	for name, stream := range map[string][]byte{
		"another kind":    secret,
		"an unknown type": []byte(`{"type":"CHANGED","object":{"kind":"Room","metadata":{"name":"r"}}}` + "\n"),
		"not JSON":        []byte("<html>proxy error</html>\n"),
		"cut short":       []byte(`{"type":"ADDED","object":{"kind":"Room","metadata":{"name":"r"`),
		"a status string": []byte(`{"type":"ADDED","object":{"kind":"Room","status":42}}` + "\n"),
	} {
		if typ, obj, err := newRoomWatchDecoder(io.NopCloser(bytes.NewReader(stream))).Decode(); err == nil {
			t.Errorf("%s: decoded as %s %+v", name, typ, obj)
		}
	}
}

// BenchmarkRoomWatchDecoding decodes a stream of Rooms as the index does
// and as client-go's watch decoder does: the CPU a replica spends per Room
// while its index streams every Room at its start.
func BenchmarkRoomWatchDecoding(b *testing.B) {
	const rooms = 1000
	events := make([]watch.Event, rooms)
	for i := range events {
		events[i] = watch.Event{Type: watch.Added, Object: watchedRoom(i)}
	}
	stream := watchStream(b, events...)
	for name, decoder := range map[string]func(io.ReadCloser) watch.Decoder{
		"index":     func(body io.ReadCloser) watch.Decoder { return newRoomWatchDecoder(body) },
		"client-go": func(body io.ReadCloser) watch.Decoder { return clientGoDecoder(b, body) },
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				d := decoder(io.NopCloser(bytes.NewReader(stream)))
				for range rooms {
					if _, obj, err := d.Decode(); err != nil {
						b.Fatal(err)
					} else {
						_ = RefOf(obj.(*chatv1alpha1.Room))
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*rooms), "µs/room")
		})
	}
}
