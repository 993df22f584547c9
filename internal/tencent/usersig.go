package tencent

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UserSig returns a TLSSigAPIv2 UserSig: what Tencent's REST API takes as
// proof that a request comes from identifier of the app sdkAppID, signed with
// the app's secret key and valid for expire from now.
//
// The signature is the base64 HMAC-SHA256, keyed with key, of the lines
// "TLS.identifier:", "TLS.sdkappid:", "TLS.time:" and "TLS.expire:" (each
// ending in a newline). It goes with those fields, as JSON, into a zlib
// stream, encoded in base64 with '+', '/' and '=' replaced by '*', '-' and
// '_'. (Tencent's own library, github.com/tencentyun/tls-sig-api-v2-golang,
// does the same.)
func UserSig(sdkAppID int64, key, identifier string, now time.Time, expire time.Duration) (string, error) {
	seconds := int64(expire / time.Second)
	doc := userSigDoc{
		Version:    "2.0",
		Identifier: identifier,
		SDKAppID:   sdkAppID,
		Expire:     seconds,
		Time:       now.Unix(),
	}
	doc.Sig = userSigHMAC(key, identifier, sdkAppID, doc.Time, seconds)
	data, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return userSigEncoding.Replace(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// userSigDoc is the JSON inside a UserSig.
type userSigDoc struct {
	Version    string `json:"TLS.ver"`
	Identifier string `json:"TLS.identifier"`
	SDKAppID   int64  `json:"TLS.sdkappid"`
	Expire     int64  `json:"TLS.expire"`
	Time       int64  `json:"TLS.time"`
	Sig        string `json:"TLS.sig"`
}

var (
	userSigEncoding = strings.NewReplacer("+", "*", "/", "-", "=", "_")
	userSigDecoding = strings.NewReplacer("*", "+", "-", "/", "_", "=")
)

func userSigHMAC(key, identifier string, sdkAppID, unixTime, expireSeconds int64) string {
	content := "TLS.identifier:" + identifier + "\n" +
		"TLS.sdkappid:" + strconv.FormatInt(sdkAppID, 10) + "\n" +
		"TLS.time:" + strconv.FormatInt(unixTime, 10) + "\n" +
		"TLS.expire:" + strconv.FormatInt(expireSeconds, 10) + "\n"
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(content))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// UserSigClaims is what a UserSig says, once decoded.
type UserSigClaims struct {
	Identifier string
	SDKAppID   int64
	Time       time.Time
	Expire     time.Duration
	// Sig is the signature it carries (base64 HMAC-SHA256).
	Sig string
}

// DecodeUserSig reads a UserSig without checking its signature.
func DecodeUserSig(userSig string) (UserSigClaims, error) {
	compressed, err := base64.StdEncoding.DecodeString(userSigDecoding.Replace(userSig))
	if err != nil {
		return UserSigClaims{}, fmt.Errorf("UserSig is not base64: %w", err)
	}
	r, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return UserSigClaims{}, fmt.Errorf("UserSig is not zlib: %w", err)
	}
	defer r.Close()
	var doc userSigDoc
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return UserSigClaims{}, fmt.Errorf("UserSig is not JSON: %w", err)
	}
	return UserSigClaims{
		Identifier: doc.Identifier,
		SDKAppID:   doc.SDKAppID,
		Time:       time.Unix(doc.Time, 0),
		Expire:     time.Duration(doc.Expire) * time.Second,
		Sig:        doc.Sig,
	}, nil
}

// VerifyUserSig reports whether userSig was made with key, and is valid at
// now. A fake Tencent in tests uses it.
func VerifyUserSig(userSig, key string, now time.Time) (UserSigClaims, error) {
	c, err := DecodeUserSig(userSig)
	if err != nil {
		return c, err
	}
	want := userSigHMAC(key, c.Identifier, c.SDKAppID, c.Time.Unix(), int64(c.Expire/time.Second))
	if !hmac.Equal([]byte(want), []byte(c.Sig)) {
		return c, fmt.Errorf("UserSig signature does not match the key")
	}
	if now.After(c.Time.Add(c.Expire)) {
		return c, fmt.Errorf("UserSig expired at %s", c.Time.Add(c.Expire).UTC().Format(time.RFC3339))
	}
	return c, nil
}

// UserSigCache hands out one UserSig until shortly before it expires.
type UserSigCache struct {
	SDKAppID   int64
	Key        string
	Identifier string
	// Lifetime is how long each UserSig is valid; it is renewed when less
	// than a tenth of it is left.
	Lifetime time.Duration
	Now      func() time.Time

	mu      sync.Mutex
	sig     string
	renewAt time.Time
}

// Get returns a valid UserSig.
func (c *UserSigCache) Get() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Now()
	if c.sig != "" && now.Before(c.renewAt) {
		return c.sig, nil
	}
	sig, err := UserSig(c.SDKAppID, c.Key, c.Identifier, now, c.Lifetime)
	if err != nil {
		return "", err
	}
	c.sig, c.renewAt = sig, now.Add(c.Lifetime-c.Lifetime/10)
	return sig, nil
}
