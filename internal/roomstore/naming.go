package roomstore

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// hashSuffixLen is how many hex digits of the RoomId's SHA-256 a derived
// name carries.
const hashSuffixLen = 8

// NameFor returns the name of the Room that a callback creates for roomID.
//
// A RoomId that is a valid DNS-1123 subdomain is used as it is. Any other
// RoomId (Tencent allows any UTF-8 text) is lower-cased, every run of
// characters outside [a-z0-9] becomes one '-', and '-' plus the first 8 hex
// digits of the SHA-256 of the original RoomId is appended, so that RoomIds
// that sanitise alike ("Room_1", "room.1 ") still get different names.
// A RoomId with nothing usable left becomes "room-<hash>".
func NameFor(roomID string) string {
	if len(validation.IsDNS1123Subdomain(roomID)) == 0 {
		return roomID
	}
	sum := sha256.Sum256([]byte(roomID))
	suffix := hex.EncodeToString(sum[:])[:hashSuffixLen]

	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(roomID) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	base := strings.TrimSuffix(b.String(), "-")
	if base == "" {
		base = "room"
	}
	// RoomIds are at most 48 bytes, far below the 253 a name may have; the
	// cut only guards against a caller that did not validate the RoomId.
	if maxBase := validation.DNS1123SubdomainMaxLength - 1 - hashSuffixLen; len(base) > maxBase {
		base = strings.TrimSuffix(base[:maxBase], "-")
	}
	return base + "-" + suffix
}
