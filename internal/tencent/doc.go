// Package tencent holds the parts of the Tencent Cloud Chat (TUIRoomKit)
// room callback protocol that do not depend on Kubernetes: the callback
// command names, the payload types, lenient decoding of those payloads and
// the callback token signature.
//
// # Decoding
//
// Tencent's callback bodies are loose with types: booleans arrive as true
// and as "true", times as numbers and as numeric strings, accounts as strings
// and as numbers. The field types [Bool], [Int64] and [String] accept every
// form seen in Tencent's documentation and reject anything else.
//
// The Decode functions ([DecodeEnvelope], [DecodeRoomInfoEvent], ...) accept
// exactly one JSON object: white space around it is allowed, anything else
// after it is an error. They ignore unknown members and fail with a
// [*FieldError] naming the first member whose value has the wrong type.
// Member names match as in encoding/json: exactly, or else
// case-insensitively; when a name is repeated the last value wins. Pointer
// and slice fields are nil when the body does not carry the member or carries
// null, so that a partial update can be told apart from a reset and the
// receiver can keep the previous value.
//
// The struct tags give Tencent's member names, for encoding. Plain
// json.Unmarshal into the payload types also decodes leniently, but its
// errors do not name the field.
//
// # Authentication
//
// When a callback token is configured, Tencent signs each request; check it
// with [VerifySign] and [ParseRequestTime].
package tencent
