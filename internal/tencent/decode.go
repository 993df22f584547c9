package tencent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// FieldError reports a member of a callback body whose value could not be
// decoded.
type FieldError struct {
	// Field is the member's path from the top of the body, in Tencent's
	// spelling: "EventTime", "RoomInfo.MaxMemberCount", "SeatList[2].Index".
	Field string
	// Err says what is wrong with the value.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// inField returns err, met while decoding the member name, as a *FieldError
// whose path starts with name.
func inField(name string, err error) error {
	if fe := (*FieldError)(nil); errors.As(err, &fe) {
		sep := "."
		if strings.HasPrefix(fe.Field, "[") {
			sep = ""
		}
		return &FieldError{Field: name + sep + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: name, Err: err}
}

// member is one member of a JSON object that a payload type knows: its name
// and how to decode its value into the payload.
type member struct {
	name   string
	decode func(raw []byte) error
}

// decodeObject decodes data, which must hold one JSON object and nothing
// more, calling the decode function of the member each key names. Like
// encoding/json, a key names the member with exactly that name or else one
// whose name matches it case-insensitively, and when a key is repeated the
// last value wins. Unknown keys are ignored.
func decodeObject(data []byte, members []member) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		return errors.New("empty body, want a JSON object")
	}
	if err != nil {
		return invalidJSON(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("want a JSON object, got %s", tokenKind(tok))
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return invalidJSON(err)
		}
		if tok == json.Delim('}') {
			break
		}
		// In key position Token returns only strings or an error.
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return invalidJSON(err)
		}
		if m := lookup(members, key); m != nil {
			if err := m.decode(raw); err != nil {
				return inField(m.name, err)
			}
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the top-level object")
	}
	return nil
}

// lookup returns the member key names, or nil.
func lookup(members []member, key string) *member {
	for i := range members {
		if members[i].name == key {
			return &members[i]
		}
	}
	for i := range members {
		if strings.EqualFold(members[i].name, key) {
			return &members[i]
		}
	}
	return nil
}

// invalidJSON describes a syntax error met by a json.Decoder.
func invalidJSON(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// tokenKind names the kind of JSON value that tok starts.
func tokenKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", tok)
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// lenient is implemented by the pointers to the lenient field types.
type lenient[T any] interface {
	*T
	json.Unmarshaler
}

// optional decodes a member of a lenient type into *dst. JSON null sets *dst
// to nil.
func optional[T any, PT lenient[T]](dst **T) func([]byte) error {
	return func(raw []byte) error {
		if string(raw) == "null" {
			*dst = nil
			return nil
		}
		v := new(T)
		if err := PT(v).UnmarshalJSON(raw); err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// object is implemented by the pointers to nested payload types.
type object[T any] interface {
	*T
	members() []member
}

// optionalObject decodes a member holding a JSON object into *dst. JSON null
// sets *dst to nil.
func optionalObject[T any, PT object[T]](dst **T) func([]byte) error {
	return func(raw []byte) error {
		if string(raw) == "null" {
			*dst = nil
			return nil
		}
		v := new(T)
		if err := decodeObject(raw, PT(v).members()); err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// decodeInto decodes one JSON object into v; for list elements.
func decodeInto[T any, PT object[T]](v PT, raw []byte) error {
	return decodeObject(raw, v.members())
}

// list decodes a member holding a JSON array into *dst, each element with
// elem. JSON null sets *dst to nil; an empty array sets it to an empty,
// non-nil slice. A null element is an error.
func list[T any](dst *[]T, elem func(v *T, raw []byte) error) func([]byte) error {
	return func(raw []byte) error {
		if string(raw) == "null" {
			*dst = nil
			return nil
		}
		if len(raw) == 0 || raw[0] != '[' {
			return fmt.Errorf("want an array, got %s", describe(raw))
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(raw, &raws); err != nil {
			return err
		}
		out := make([]T, len(raws))
		for i, r := range raws {
			err := errors.New("want a value, got null")
			if string(r) != "null" {
				err = elem(&out[i], r)
			}
			if err != nil {
				return inField(fmt.Sprintf("[%d]", i), err)
			}
		}
		*dst = out
		return nil
	}
}

// text decodes a member that must be a JSON string into *dst. JSON null
// leaves *dst unchanged.
func text(dst *string) func([]byte) error {
	return func(raw []byte) error {
		if string(raw) == "null" {
			return nil
		}
		if len(raw) == 0 || raw[0] != '"' {
			return fmt.Errorf("want a string, got %s", describe(raw))
		}
		return unmarshalString(raw, dst)
	}
}
