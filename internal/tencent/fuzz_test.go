package tencent

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/.

// FuzzDecodeRoomInfoEvent checks that DecodeRoomInfoEvent returns rather than
// panics, accepts only valid JSON, returns the zero value with an error, and
// agrees with DecodeEnvelope on the envelope of what it accepts.
func FuzzDecodeRoomInfoEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := DecodeRoomInfoEvent(body)
		if err != nil {
			if !reflect.DeepEqual(e, RoomInfoEvent{}) {
				t.Fatalf("error %v came with a value: %s", err, dump(e))
			}
			return
		}
		checkAccepted(t, body, e.Envelope)
	})
}

// FuzzDecodeEnvelope checks that DecodeEnvelope returns rather than panics,
// accepts only valid JSON and returns the zero value with an error; and that
// the other Decode functions (RoomInfoEvent has its own target) do the same
// and agree with DecodeEnvelope on the envelope of what they accept.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := DecodeEnvelope(body)
		if err != nil {
			if !reflect.DeepEqual(env, Envelope{}) {
				t.Fatalf("error %v came with a value: %s", err, dump(env))
			}
		} else if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if e, err := DecodeDestroyRoomEvent(body); err == nil {
			checkAccepted(t, body, e.Envelope)
		} else if !reflect.DeepEqual(e, DestroyRoomEvent{}) {
			t.Fatalf("error %v came with a value: %s", err, dump(e))
		}
		if e, err := DecodeMemberEvent(body); err == nil {
			checkAccepted(t, body, e.Envelope)
		} else if !reflect.DeepEqual(e, MemberEvent{}) {
			t.Fatalf("error %v came with a value: %s", err, dump(e))
		}
		if e, err := DecodeSeatInfoChangedEvent(body); err == nil {
			checkAccepted(t, body, e.Envelope)
		} else if !reflect.DeepEqual(e, SeatInfoChangedEvent{}) {
			t.Fatalf("error %v came with a value: %s", err, dump(e))
		}
	})
}

// checkAccepted checks a body that a Decode function accepted with envelope
// env: it must be valid JSON, and DecodeEnvelope must accept it too with the
// same envelope.
func checkAccepted(t *testing.T, body []byte, env Envelope) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON %q", body)
	}
	want, err := DecodeEnvelope(body)
	if err != nil {
		t.Fatalf("accepted %q, which DecodeEnvelope rejects: %v", body, err)
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("envelope %s, DecodeEnvelope says %s", dump(env), dump(want))
	}
}
