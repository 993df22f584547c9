package tencent

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sign returns the signature Tencent puts in the Sign query parameter of a
// callback when a callback token is configured: the lowercase hex SHA-256 of
// token and requestTime (the RequestTime query parameter) concatenated.
func Sign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}

// VerifySign reports whether sign, in upper- or lowercase hex, equals
// Sign(token, requestTime) for any of tokens. Several tokens allow a token to
// be rotated: accept the old and the new one until the sender uses the new
// one. Empty tokens are skipped, so VerifySign is false when no token is
// given. A sign that is not 64 hex digits is false. The comparison takes the
// same time whatever sign is. VerifySign does not check that requestTime is
// recent: see [ParseRequestTime].
func VerifySign(sign, requestTime string, tokens ...string) bool {
	if len(sign) != hex.EncodedLen(sha256.Size) {
		return false
	}
	got, err := hex.DecodeString(sign)
	if err != nil {
		return false
	}
	match := 0
	for _, token := range tokens {
		if token == "" {
			continue
		}
		want := sha256.Sum256([]byte(token + requestTime))
		match |= subtle.ConstantTimeCompare(got, want[:])
	}
	return match == 1
}

// ParseRequestTime parses the RequestTime query parameter of a signed
// callback: Unix seconds in base 10, digits only (no sign, no space). It
// fails for an empty, non-numeric or negative value, and for one too large
// for an int64. The time is in UTC. A receiver should reject a request whose
// RequestTime is more than a minute away from now, as Tencent advises.
func ParseRequestTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("RequestTime is empty")
	}
	if s[0] == '-' {
		return time.Time{}, fmt.Errorf("RequestTime %s is negative", quoteShort(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("RequestTime %s is not a number of seconds", quoteShort(s))
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("RequestTime %s is out of range", quoteShort(s))
	}
	return time.Unix(sec, 0).UTC(), nil
}

// quoteShort quotes s for an error message, cut short when long: s comes
// from the request.
func quoteShort(s string) string {
	const maxLen = 32
	if len(s) > maxLen {
		return strconv.Quote(s[:maxLen]) + "..."
	}
	return strconv.Quote(s)
}
