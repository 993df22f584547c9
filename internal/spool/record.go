package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Both buckets store records of one shape:
//
//	version (1 byte) | CRC-32C of everything after it (4, big endian) |
//	time in Unix nanoseconds (8, big endian) | uvarint length of text | text | body
//
// A queue entry's time is when it was spooled, its text the key and its body the
// payload. A dead letter's time is when it died, its text the reason and its body
// the queue record it was, byte for byte (which may itself be corrupt).
const (
	recordVersion = 1
	headerLen     = 1 + 4 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord returns the record of t, text and body.
func encodeRecord(t time.Time, text string, body []byte) []byte {
	b := make([]byte, headerLen, headerLen+binary.MaxVarintLen64+len(text)+len(body))
	b[0] = recordVersion
	binary.BigEndian.PutUint64(b[5:], uint64(t.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(text)))
	b = append(b, text...)
	b = append(b, body...)
	binary.BigEndian.PutUint32(b[1:], crc32.Checksum(b[5:], castagnoli))
	return b
}

// parseRecord splits a record into its parts without copying: text and body alias b.
// It accepts exactly what encodeRecord produces, so that anything it accepts encodes
// back to the same bytes.
func parseRecord(b []byte) (nanos int64, text, body []byte, err error) {
	if len(b) < headerLen {
		return 0, nil, nil, fmt.Errorf("record of %d bytes is shorter than its %d-byte header", len(b), headerLen)
	}
	if b[0] != recordVersion {
		return 0, nil, nil, fmt.Errorf("unknown record version %d", b[0])
	}
	if got, want := crc32.Checksum(b[5:], castagnoli), binary.BigEndian.Uint32(b[1:]); got != want {
		return 0, nil, nil, fmt.Errorf("checksum %08x, want %08x", got, want)
	}
	rest := b[headerLen:]
	n, size := binary.Uvarint(rest)
	switch {
	case size <= 0:
		return 0, nil, nil, errors.New("unreadable text length")
	case size != uvarintLen(n):
		return 0, nil, nil, errors.New("text length is not minimally encoded")
	case n > uint64(len(rest)-size):
		return 0, nil, nil, fmt.Errorf("text length %d overruns the %d bytes left", n, len(rest)-size)
	}
	rest = rest[size:]
	return int64(binary.BigEndian.Uint64(b[5:])), rest[:n], rest[n:], nil
}

func uvarintLen(n uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], n)
}

// encodeEntry returns the queue record of e (whose Seq is the bucket key, not stored).
func encodeEntry(e Entry) []byte {
	return encodeRecord(e.Spooled, e.Key, e.Data)
}

// decodeEntry decodes the queue record stored under seq. The Entry it returns
// owns its memory, so b may be a bbolt value that is only valid in its transaction.
func decodeEntry(seq uint64, b []byte) (Entry, error) {
	nanos, key, data, err := parseRecord(b)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Seq: seq, Key: string(key), Spooled: time.Unix(0, nanos), Data: clone(data)}, nil
}

// encodeDead returns the dead-letter record of the queue record raw, dead since t.
func encodeDead(t time.Time, reason string, raw []byte) []byte {
	return encodeRecord(t, reason, raw)
}

// decodeDead decodes the dead-letter record stored under seq. When the queue
// record inside it does not decode, the DeadLetter carries those bytes as Data
// and has no Key or Spooled time.
func decodeDead(seq uint64, b []byte) (DeadLetter, error) {
	nanos, reason, raw, err := parseRecord(b)
	if err != nil {
		return DeadLetter{}, err
	}
	e, err := decodeEntry(seq, raw)
	if err != nil {
		e = Entry{Seq: seq, Data: clone(raw)}
	}
	return DeadLetter{Entry: e, Reason: string(reason), Time: time.Unix(0, nanos)}, nil
}

// clone copies b into memory of its own; unlike bytes.Clone it never returns nil.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
