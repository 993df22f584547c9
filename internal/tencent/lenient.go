package tencent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bool is a boolean that decodes from every form Tencent sends: JSON true and
// false, the strings "true" and "false" in any letter case, the numbers 0 and
// 1 and the strings "0" and "1". Anything else is an error. JSON null leaves
// the value unchanged, so a *Bool field stays nil.
type Bool bool

// UnmarshalJSON implements [json.Unmarshaler].
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "null":
		return nil
	case "true", "1":
		*b = true
		return nil
	case "false", "0":
		*b = false
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		switch {
		case strings.EqualFold(s, "true"), s == "1":
			*b = true
			return nil
		case strings.EqualFold(s, "false"), s == "0":
			*b = false
			return nil
		}
	}
	return fmt.Errorf(`want true, false, "true", "false", 0 or 1, got %s`, describe(data))
}

// Int64 is an integer that decodes from a JSON integer or from a string
// holding a base-10 integer ("1670574414123"), with an optional minus sign and
// no surrounding space. Fractions (1.5, even 1.0), exponents (1e3), values
// outside the int64 range and the empty string are errors, as are booleans,
// objects and arrays. JSON null leaves the value unchanged, so an *Int64 field
// stays nil.
type Int64 int64

// UnmarshalJSON implements [json.Unmarshaler].
func (n *Int64) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	text := string(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &text); err != nil {
			return err
		}
	} else if !isNumber(data) {
		return fmt.Errorf("want an integer or a string holding one, got %s", describe(data))
	}
	if !isDecimalInteger(text) {
		return fmt.Errorf("want an integer or a string holding one, got %s", describe(data))
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("integer %s is out of range", describe(data))
		}
		return fmt.Errorf("want an integer or a string holding one, got %s", describe(data))
	}
	*n = Int64(v)
	return nil
}

// String is a string that decodes from a JSON string or from a JSON number,
// kept as the number's literal text: Tencent sends accounts such as
// Owner_Account as 12345 as well as "12345", and TakeSeatMode sometimes as an
// integer. Booleans, objects and arrays are errors. JSON null leaves the value
// unchanged, so a *String field stays nil.
type String string

// UnmarshalJSON implements [json.Unmarshaler].
func (s *String) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		return nil
	case len(data) > 0 && data[0] == '"':
		var v string
		if err := unmarshalString(data, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	case isNumber(data):
		*s = String(data)
		return nil
	}
	return fmt.Errorf("want a string or a number, got %s", describe(data))
}

// unmarshalString decodes the JSON string data into *dst. Unlike
// encoding/json, which silently replaces bytes that are not UTF-8 with
// U+FFFD, it refuses them: a RoomId that is not UTF-8 must be rejected, not
// mirrored under another id.
func unmarshalString(data []byte, dst *string) error {
	if !utf8.Valid(data) {
		return errors.New("string is not valid UTF-8")
	}
	return json.Unmarshal(data, dst)
}

// isNumber reports whether data is one JSON number and nothing else.
func isNumber(data []byte) bool {
	if len(data) == 0 || (data[0] != '-' && (data[0] < '0' || data[0] > '9')) {
		return false
	}
	// A valid JSON value that starts with a minus sign or a digit is a number.
	return json.Valid(data)
}

// isDecimalInteger reports whether s is an optional minus sign followed by
// one or more ASCII digits.
func isDecimalInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describe names a JSON value for an error message: scalars by their text, cut
// short when long, objects and arrays by their kind.
func describe(data []byte) string {
	const maxLen = 40
	switch {
	case len(data) == 0:
		return "nothing"
	case data[0] == '{':
		return "an object"
	case data[0] == '[':
		return "an array"
	case len(data) > maxLen:
		end := maxLen
		for end > 0 && !utf8.RuneStart(data[end]) {
			end--
		}
		return string(data[:end]) + "..."
	}
	return string(data)
}
