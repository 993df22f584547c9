package tencent

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// seedSample is the sample of the "after a room is updated" documentation
// page, made valid JSON.
const seedSample = `{
  "CallbackCommand": "Room.CallbackAfterUpdateRoomInfo",
  "Operator_Account": "bob",
  "RoomInfo": {
    "RoomId": "rid-123",
    "RoomName": "rname-123",
    "Owner_Account": "jack",
    "TakeSeatMode": "FreeToTake",
    "MaxMemberCount": 300,
    "IsVideoDisabled": false,
    "IsAudioDisabled": false,
    "IsMessageDisabled": false,
    "IsScreenSharingDisabled": false,
    "IsCloudRecordingDisabled": "false",
    "CustomInfo": "123"
  },
  "EventTime": 1670574414123
}`

func TestDecodeRoomInfoEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
		want RoomInfoEvent
	}{{
		name: "seed sample",
		body: seedSample,
		want: RoomInfoEvent{
			Envelope:        Envelope{CallbackCommand: CommandAfterUpdateRoomInfo, EventTime: new(Int64(1670574414123))},
			OperatorAccount: new(String("bob")),
			RoomInfo: &RoomInfo{
				RoomID:                   new(String("rid-123")),
				RoomName:                 new(String("rname-123")),
				OwnerAccount:             new(String("jack")),
				TakeSeatMode:             new(String("FreeToTake")),
				MaxMemberCount:           new(Int64(300)),
				IsVideoDisabled:          new(Bool(false)),
				IsAudioDisabled:          new(Bool(false)),
				IsMessageDisabled:        new(Bool(false)),
				IsScreenSharingDisabled:  new(Bool(false)),
				IsCloudRecordingDisabled: new(Bool(false)),
				CustomInfo:               new(String("123")),
			},
		},
	}, {
		name: "create with every field, loosely typed",
		body: `{"CallbackCommand":"Room.CallbackAfterCreateRoom","EventTime":"1670574414123",
			"Operator_Account":10001,
			"RoomInfo":{"RoomId":"会议室/1.a","RoomName":"","RoomType":"Conference","Owner_Account":10001,
				"TakeSeatMode":1,"MaxMemberCount":"300","MaxSeatCount":16,
				"IsVideoDisabled":1,"IsAudioDisabled":"TRUE","IsMessageDisabled":"0",
				"IsScreenSharingDisabled":true,"IsCloudRecordingDisabled":0,"IsSeatEnabled":"1",
				"CustomInfo":"{\"k\":\"v\"}","ScheduleStartTime":1670000000,"ScheduleEndTime":"1670003600",
				"RoomStatus":"NotStarted","CreateTime":1669990000},
			"ScheduleInviteeList_Account":["alice",42]}`,
		want: RoomInfoEvent{
			Envelope:        Envelope{CallbackCommand: CommandAfterCreateRoom, EventTime: new(Int64(1670574414123))},
			OperatorAccount: new(String("10001")),
			RoomInfo: &RoomInfo{
				RoomID:                   new(String("会议室/1.a")),
				RoomName:                 new(String("")),
				RoomType:                 new(String("Conference")),
				OwnerAccount:             new(String("10001")),
				TakeSeatMode:             new(String("1")),
				MaxMemberCount:           new(Int64(300)),
				MaxSeatCount:             new(Int64(16)),
				IsVideoDisabled:          new(Bool(true)),
				IsAudioDisabled:          new(Bool(true)),
				IsMessageDisabled:        new(Bool(false)),
				IsScreenSharingDisabled:  new(Bool(true)),
				IsCloudRecordingDisabled: new(Bool(false)),
				IsSeatEnabled:            new(Bool(true)),
				CustomInfo:               new(String(`{"k":"v"}`)),
				ScheduleStartTime:        new(Int64(1670000000)),
				ScheduleEndTime:          new(Int64(1670003600)),
				RoomStatus:               new(String("NotStarted")),
				CreateTime:               new(Int64(1669990000)),
			},
			ScheduleInvitees: []String{"alice", "42"},
		},
	}, {
		name: "partial update leaves the rest nil",
		body: `{"CallbackCommand":"Room.CallbackUpdateRoomInfo","RoomInfo":{"RoomId":"r","IsMessageDisabled":true}}`,
		want: RoomInfoEvent{
			Envelope: Envelope{CallbackCommand: CommandUpdateRoomInfo},
			RoomInfo: &RoomInfo{RoomID: new(String("r")), IsMessageDisabled: new(Bool(true))},
		},
	}, {
		name: "null is absent",
		body: `{"CallbackCommand":null,"EventTime":null,"Operator_Account":null,"ScheduleInviteeList_Account":null,
			"RoomInfo":{"RoomId":"r","RoomName":null,"MaxMemberCount":null,"IsVideoDisabled":null}}`,
		want: RoomInfoEvent{RoomInfo: &RoomInfo{RoomID: new(String("r"))}},
	}, {
		name: "null RoomInfo",
		body: `{"RoomInfo":null}`,
		want: RoomInfoEvent{},
	}, {
		name: "empty object",
		body: `{}`,
		want: RoomInfoEvent{},
	}, {
		name: "empty RoomInfo and empty invitee list",
		body: `{"RoomInfo":{},"ScheduleInviteeList_Account":[]}`,
		want: RoomInfoEvent{RoomInfo: &RoomInfo{}, ScheduleInvitees: []String{}},
	}, {
		name: "unknown members are ignored, at any depth",
		body: `{"Future":{"a":[1,{"b":null}]},"RoomInfo":{"RoomId":"r","Future":[true,"x"],"MaxMemberCount":3},"X":1}`,
		want: RoomInfoEvent{RoomInfo: &RoomInfo{RoomID: new(String("r")), MaxMemberCount: new(Int64(3))}},
	}, {
		name: "names match case-insensitively",
		body: `{"callbackcommand":"c","ROOMINFO":{"roomid":"r","owner_account":"o"}}`,
		want: RoomInfoEvent{
			Envelope: Envelope{CallbackCommand: "c"},
			RoomInfo: &RoomInfo{RoomID: new(String("r")), OwnerAccount: new(String("o"))},
		},
	}, {
		name: "the last of repeated members wins",
		body: `{"EventTime":1,"EventTime":2,"RoomInfo":{"RoomId":"a"},"RoomInfo":{"RoomName":"b"}}`,
		want: RoomInfoEvent{
			Envelope: Envelope{EventTime: new(Int64(2))},
			RoomInfo: &RoomInfo{RoomName: new(String("b"))},
		},
	}, {
		name: "white space around the object",
		body: " \t\r\n{\"EventTime\" : 5 }\n\n",
		want: RoomInfoEvent{Envelope: Envelope{EventTime: new(Int64(5))}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRoomInfoEvent([]byte(tt.body))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// TestDecodeErrorsNameTheField checks that a member of the wrong type fails
// decoding with a *FieldError whose path names it.
func TestDecodeErrorsNameTheField(t *testing.T) {
	tests := []struct {
		body      string
		wantField string
		wantMsg   string
	}{
		{`{"CallbackCommand":5}`, "CallbackCommand", "want a string, got 5"},
		{`{"CallbackCommand":["x"]}`, "CallbackCommand", "want a string, got an array"},
		{`{"EventTime":"soon"}`, "EventTime", `want an integer or a string holding one, got "soon"`},
		{`{"EventTime":1670574414.123}`, "EventTime", "want an integer or a string holding one, got 1670574414.123"},
		{`{"Operator_Account":true}`, "Operator_Account", "want a string or a number, got true"},
		{`{"RoomInfo":[]}`, "RoomInfo", "want a JSON object, got an array"},
		{`{"RoomInfo":"r"}`, "RoomInfo", "want a JSON object, got a string"},
		{`{"RoomInfo":{"RoomId":{}}}`, "RoomInfo.RoomId", "want a string or a number, got an object"},
		{`{"RoomInfo":{"MaxMemberCount":"many"}}`, "RoomInfo.MaxMemberCount", `want an integer or a string holding one, got "many"`},
		{`{"RoomInfo":{"IsVideoDisabled":"yes"}}`, "RoomInfo.IsVideoDisabled", `want true, false, "true", "false", 0 or 1, got "yes"`},
		{`{"RoomInfo":{"roomid":false}}`, "RoomInfo.RoomId", "want a string or a number, got false"},
		{`{"ScheduleInviteeList_Account":"alice"}`, "ScheduleInviteeList_Account", `want an array, got "alice"`},
		{`{"ScheduleInviteeList_Account":["alice",{}]}`, "ScheduleInviteeList_Account[1]", "want a string or a number, got an object"},
		{`{"ScheduleInviteeList_Account":[null]}`, "ScheduleInviteeList_Account[0]", "want a value, got null"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := DecodeRoomInfoEvent([]byte(tt.body))
			fe, ok := errors.AsType[*FieldError](err)
			if !ok {
				t.Fatalf("error = %v, want a *FieldError", err)
			}
			if fe.Field != tt.wantField || fe.Err.Error() != tt.wantMsg {
				t.Fatalf("got field %q, message %q; want %q, %q", fe.Field, fe.Err, tt.wantField, tt.wantMsg)
			}
			if want := tt.wantField + ": " + tt.wantMsg; err.Error() != want {
				t.Fatalf("error text = %q, want %q", err, want)
			}
			if !reflect.DeepEqual(got, RoomInfoEvent{}) {
				t.Fatalf("failed decoding returned a value: %s", dump(got))
			}
		})
	}
}

// badBodies are not one JSON object: every Decode function must reject them,
// with an error that is not a *FieldError. A wantMsg ending in "..." is a
// prefix: the rest comes from encoding/json and is not pinned here.
var badBodies = []struct {
	name    string
	body    string
	wantMsg string
}{
	{"empty", ``, "empty body, want a JSON object"},
	{"white space only", " \n", "empty body, want a JSON object"},
	{"null", `null`, "want a JSON object, got null"},
	{"array", `[{"CallbackCommand":"x"}]`, "want a JSON object, got an array"},
	{"string", `"{}"`, "want a JSON object, got a string"},
	{"number", `1`, "want a JSON object, got a number"},
	{"boolean", `true`, "want a JSON object, got a boolean"},
	{"garbage", `CallbackCommand=x`, "invalid JSON: ..."},
	{"closing brace", `}`, "invalid JSON: ..."},
	{"trailing garbage", `{"CallbackCommand":"x"} x`, "invalid JSON: data after the top-level object"},
	{"second object", `{"CallbackCommand":"x"}{}`, "invalid JSON: data after the top-level object"},
	{"trailing comma", `{"CallbackCommand":"x",}`, "invalid JSON: ..."},
	{"missing comma", `{"a":1 "b":2}`, "invalid JSON: ..."},
	{"missing colon", `{"a" 1}`, "invalid JSON: ..."},
	{"comment", `{"a":1 /* c */}`, "invalid JSON: ..."},
	{"truncated", `{"RoomInfo":{"RoomId":"r"`, "invalid JSON: unexpected EOF"},
	{"truncated after member", `{"EventTime":1,`, "invalid JSON: unexpected EOF"},
	{"unterminated", `{`, "invalid JSON: unexpected EOF"},
	{"bad value in unknown member", `{"Future":[1,]}`, "invalid JSON: ..."},
	{"bad value in RoomInfo", `{"RoomInfo":{"RoomId":tru}}`, "invalid JSON: ..."},
	{"deep array", strings.Repeat("[", 100000), "want a JSON object, got an array"},
	{"deep RoomInfo", `{"RoomInfo":` + strings.Repeat("[", 100000), "invalid JSON: ..."},
	{"deep unknown member", `{"X":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + "}", "invalid JSON: ..."},
}

func TestDecodeRejectsBodiesThatAreNotOneObject(t *testing.T) {
	for _, tt := range badBodies {
		for name, decode := range decoders {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := decode([]byte(tt.body))
				if err == nil {
					t.Fatal("no error")
				}
				prefix, isPrefix := strings.CutSuffix(tt.wantMsg, "...")
				if isPrefix && !strings.HasPrefix(err.Error(), prefix) || !isPrefix && err.Error() != tt.wantMsg {
					t.Fatalf("error = %q, want %q", err, tt.wantMsg)
				}
				if _, ok := errors.AsType[*FieldError](err); ok {
					t.Fatalf("error %v is a *FieldError", err)
				}
			})
		}
	}
}

// decoders runs every Decode function, returning only its error.
var decoders = map[string]func([]byte) error{
	"Envelope":             func(b []byte) error { _, err := DecodeEnvelope(b); return err },
	"RoomInfoEvent":        func(b []byte) error { _, err := DecodeRoomInfoEvent(b); return err },
	"DestroyRoomEvent":     func(b []byte) error { _, err := DecodeDestroyRoomEvent(b); return err },
	"MemberEvent":          func(b []byte) error { _, err := DecodeMemberEvent(b); return err },
	"SeatInfoChangedEvent": func(b []byte) error { _, err := DecodeSeatInfoChangedEvent(b); return err },
}

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Envelope
		wantErr string
	}{
		{name: "seed sample", body: seedSample, want: Envelope{CallbackCommand: CommandAfterUpdateRoomInfo, EventTime: new(Int64(1670574414123))}},
		{name: "EventTime as a string", body: `{"CallbackCommand":"C.B","EventTime":"1670574414123"}`, want: Envelope{CallbackCommand: "C.B", EventTime: new(Int64(1670574414123))}},
		{name: "no EventTime", body: `{"CallbackCommand":"C.B"}`, want: Envelope{CallbackCommand: "C.B"}},
		{name: "no CallbackCommand", body: `{"EventTime":1}`, want: Envelope{EventTime: new(Int64(1))}},
		{name: "other members are not decoded", body: `{"RoomInfo":{"MaxMemberCount":"many"},"Operator_Account":true}`, want: Envelope{}},
		{name: "CallbackCommand a number", body: `{"CallbackCommand":1}`, wantErr: "CallbackCommand: want a string, got 1"},
		{name: "EventTime a fraction", body: `{"EventTime":1.5}`, wantErr: "EventTime: want an integer or a string holding one, got 1.5"},
		{name: "EventTime an object", body: `{"EventTime":{}}`, wantErr: "EventTime: want an integer or a string holding one, got an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEnvelope([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %s, want %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestDecodeDestroyRoomEvent(t *testing.T) {
	got, err := DecodeDestroyRoomEvent([]byte(`{"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"bob","RoomId":"rid-123","EventTime":1670574414123}`))
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	want := DestroyRoomEvent{
		Envelope:        Envelope{CallbackCommand: CommandAfterDestroyRoom, EventTime: new(Int64(1670574414123))},
		OperatorAccount: new(String("bob")),
		RoomID:          new(String("rid-123")),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", dump(got), dump(want))
	}
	if _, err := DecodeDestroyRoomEvent([]byte(`{"RoomId":true}`)); err == nil || err.Error() != "RoomId: want a string or a number, got true" {
		t.Fatalf("error = %v, want one naming RoomId", err)
	}
}

func TestDecodeMemberEvent(t *testing.T) {
	got, err := DecodeMemberEvent([]byte(`{"CallbackCommand":"Room.CallbackAfterMemberLeave","Operator_Account":"admin",
		"RoomId":"rid-123","MemberCount":"2","Type":"Kicked","Reason":3,"MemberList_Account":["alice",10002],"EventTime":1}`))
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	want := MemberEvent{
		Envelope:        Envelope{CallbackCommand: CommandAfterMemberLeave, EventTime: new(Int64(1))},
		OperatorAccount: new(String("admin")),
		RoomID:          new(String("rid-123")),
		MemberCount:     new(Int64(2)),
		Type:            new(String("Kicked")),
		Reason:          new(String("3")),
		MemberAccounts:  []String{"alice", "10002"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", dump(got), dump(want))
	}
	if _, err := DecodeMemberEvent([]byte(`{"MemberList_Account":["a",true]}`)); err == nil || err.Error() != "MemberList_Account[1]: want a string or a number, got true" {
		t.Fatalf("error = %v, want one naming MemberList_Account[1]", err)
	}
}

func TestDecodeSeatInfoChangedEvent(t *testing.T) {
	got, err := DecodeSeatInfoChangedEvent([]byte(`{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","Operator_Account":"bob","RoomId":"rid-123",
		"SeatList":[{"Index":0,"Member_Account":"bob","IsTakenDisabled":false,"IsVideoDisabled":"true","IsAudioDisabled":0},
			{"Index":"1","Member_Account":"","IsTakenDisabled":1},{}],"EventTime":1}`))
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	want := SeatInfoChangedEvent{
		Envelope:        Envelope{CallbackCommand: CommandAfterSeatInfoChanged, EventTime: new(Int64(1))},
		OperatorAccount: new(String("bob")),
		RoomID:          new(String("rid-123")),
		SeatList: []SeatInfo{
			{Index: new(Int64(0)), MemberAccount: new(String("bob")), IsTakenDisabled: new(Bool(false)), IsVideoDisabled: new(Bool(true)), IsAudioDisabled: new(Bool(false))},
			{Index: new(Int64(1)), MemberAccount: new(String("")), IsTakenDisabled: new(Bool(true))},
			{},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %s, want %s", dump(got), dump(want))
	}
	for body, wantErr := range map[string]string{
		`{"SeatList":[{},{"Index":1.5}]}`:       "SeatList[1].Index: want an integer or a string holding one, got 1.5",
		`{"SeatList":[{"Member_Account":[]}]}`:  "SeatList[0].Member_Account: want a string or a number, got an array",
		`{"SeatList":[[]]}`:                     "SeatList[0]: want a JSON object, got an array",
		`{"SeatList":[null]}`:                   "SeatList[0]: want a value, got null",
		`{"SeatList":{"Index":1}}`:              "SeatList: want an array, got an object",
		`{"SeatList":[{"IsAudioDisabled":2}]}`:  `SeatList[0].IsAudioDisabled: want true, false, "true", "false", 0 or 1, got 2`,
		`{"SeatList":[{"isaudiodisabled":2}]}`:  `SeatList[0].IsAudioDisabled: want true, false, "true", "false", 0 or 1, got 2`,
		`{"SeatList":[{"Index":"x"}],"X":[1,]}`: `SeatList[0].Index: want an integer or a string holding one, got "x"`,
	} {
		if _, err := DecodeSeatInfoChangedEvent([]byte(body)); err == nil || err.Error() != wantErr {
			t.Errorf("%s: error = %v, want %q", body, err, wantErr)
		}
	}
}

// TestMembersMatchTags checks every payload type's decoding against its json
// tags: a body carrying only the member a tag names sets that field and no
// other, and a value of the wrong type there fails with a *FieldError naming
// the tag.
func TestMembersMatchTags(t *testing.T) {
	type payload struct {
		decode func([]byte) (any, error)
		// wrap puts one member into a body for the payload.
		wrap func(member string) string
	}
	top := func(m string) string { return "{" + m + "}" }
	payloads := map[string]payload{
		"Envelope":             {func(b []byte) (any, error) { return DecodeEnvelope(b) }, top},
		"RoomInfoEvent":        {func(b []byte) (any, error) { return DecodeRoomInfoEvent(b) }, top},
		"DestroyRoomEvent":     {func(b []byte) (any, error) { return DecodeDestroyRoomEvent(b) }, top},
		"MemberEvent":          {func(b []byte) (any, error) { return DecodeMemberEvent(b) }, top},
		"SeatInfoChangedEvent": {func(b []byte) (any, error) { return DecodeSeatInfoChangedEvent(b) }, top},
		"RoomInfo": {
			func(b []byte) (any, error) {
				e, err := DecodeRoomInfoEvent(b)
				if e.RoomInfo == nil {
					return RoomInfo{}, err
				}
				return *e.RoomInfo, err
			},
			func(m string) string { return `{"RoomInfo":{` + m + `}}` },
		},
		"SeatInfo": {
			func(b []byte) (any, error) {
				e, err := DecodeSeatInfoChangedEvent(b)
				if len(e.SeatList) != 1 {
					return SeatInfo{}, err
				}
				return e.SeatList[0], err
			},
			func(m string) string { return `{"SeatList":[{` + m + `}]}` },
		},
	}
	prefix := map[string]string{"RoomInfo": "RoomInfo.", "SeatInfo": "SeatList[0]."}

	for name, p := range payloads {
		zero, err := p.decode([]byte(p.wrap("")))
		if err != nil {
			t.Fatalf("%s: decoding an empty object: %v", name, err)
		}
		for _, f := range jsonFields(reflect.TypeOf(zero)) {
			t.Run(name+"."+f.tag, func(t *testing.T) {
				good, bad := sampleValues(t, f.typ)
				got, err := p.decode([]byte(p.wrap(`"` + f.tag + `":` + good)))
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				for _, g := range jsonFields(reflect.TypeOf(got)) {
					set := !reflect.ValueOf(got).FieldByIndex(g.index).IsZero()
					if set != (g.tag == f.tag) {
						t.Errorf("member %q: field for %q set = %v", f.tag, g.tag, set)
					}
				}
				_, err = p.decode([]byte(p.wrap(`"` + f.tag + `":` + bad)))
				fe, ok := errors.AsType[*FieldError](err)
				if !ok || fe.Field != prefix[name]+f.tag {
					t.Fatalf("wrong type for %q: error = %v, want a *FieldError for %q", f.tag, err, prefix[name]+f.tag)
				}
			})
		}
	}
}

type jsonField struct {
	tag   string
	index []int
	typ   reflect.Type
}

// jsonFields lists the fields of struct type t that have a json tag,
// including those of embedded structs.
func jsonFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for _, f := range reflect.VisibleFields(t) {
		if tag, ok := f.Tag.Lookup("json"); ok {
			fields = append(fields, jsonField{tag: tag, index: f.Index, typ: f.Type})
		}
	}
	return fields
}

// sampleValues returns JSON values that decode into a field of type typ
// without and with an error.
func sampleValues(t *testing.T, typ reflect.Type) (good, bad string) {
	switch typ {
	case reflect.TypeFor[string](), reflect.TypeFor[*String]():
		return `"x"`, `{}`
	case reflect.TypeFor[*Int64]():
		return `7`, `{}`
	case reflect.TypeFor[*Bool]():
		return `true`, `{}`
	case reflect.TypeFor[*RoomInfo]():
		return `{"RoomId":"r"}`, `[]`
	case reflect.TypeFor[[]String]():
		return `["x"]`, `{}`
	case reflect.TypeFor[[]SeatInfo]():
		return `[{"Index":1}]`, `{}`
	}
	t.Fatalf("no sample values for %v", typ)
	return "", ""
}

// dump formats a payload with its pointers followed, for failure messages.
func dump(v any) string {
	var b strings.Builder
	dumpValue(&b, reflect.ValueOf(v))
	return b.String()
}

func dumpValue(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("&")
		dumpValue(b, v.Elem())
	case reflect.Struct:
		fmt.Fprintf(b, "%s{", v.Type().Name())
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				continue
			}
			fmt.Fprintf(b, "%s:", v.Type().Field(i).Name)
			dumpValue(b, v.Field(i))
			b.WriteString(" ")
		}
		b.WriteString("}")
	case reflect.Slice:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("[")
		for i := range v.Len() {
			dumpValue(b, v.Index(i))
			b.WriteString(" ")
		}
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%#v", v.Interface())
	}
}
