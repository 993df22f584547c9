package tencent

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxRoomIDBytes is the longest RoomId Tencent allows, in bytes.
const MaxRoomIDBytes = 48

// ValidateRoomID returns nil when id is a usable Tencent RoomId: not empty,
// valid UTF-8 and at most [MaxRoomIDBytes] bytes long. Any characters are
// allowed otherwise, so a RoomId is not a valid Kubernetes name in general.
// The error says which rule id breaks; it does not quote id.
func ValidateRoomID(id string) error {
	switch {
	case id == "":
		return errors.New("RoomId is empty")
	case len(id) > MaxRoomIDBytes:
		return fmt.Errorf("RoomId is %d bytes long, more than the %d allowed", len(id), MaxRoomIDBytes)
	case !utf8.ValidString(id):
		return errors.New("RoomId is not valid UTF-8")
	}
	return nil
}
