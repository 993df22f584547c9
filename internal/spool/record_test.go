package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/.

// withCRC returns b (a record) with its checksum set to match its contents.
func withCRC(b []byte) []byte {
	b = clone(b)
	binary.BigEndian.PutUint32(b[1:], crc32.Checksum(b[5:], castagnoli))
	return b
}

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		{Seq: 1, Key: "room", Spooled: time.Unix(0, 1_700_000_000_123_456_789), Data: []byte(`{"EventType":103}`)},
		{Seq: 2, Key: "", Spooled: time.Unix(0, 0), Data: []byte{}},
		{Seq: 3, Key: strings.Repeat("k", 300), Spooled: time.Unix(0, -1), Data: []byte{0, 1, 2}},
	} {
		got, err := decodeEntry(e.Seq, encodeEntry(e))
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("decodeEntry(encodeEntry(%+v)) = %+v, %v", e, got, err)
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	valid := encodeEntry(Entry{Key: "room", Spooled: time.Unix(5, 0), Data: []byte("data")})
	header := valid[:headerLen]
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"nil", nil, "shorter than"},
		{"header only", withCRC(header), "unreadable text length"},
		{"version 2", append([]byte{2}, valid[1:]...), "unknown record version 2"},
		{"bad checksum", append(clone(valid[:len(valid)-1]), valid[len(valid)-1]^0xff), "checksum"},
		{"torn", valid[:len(valid)-1], "checksum"},
		{"key longer than the record", withCRC(append(clone(header), 0x20, 'a')), "overruns"},
		{"huge key length", withCRC(append(clone(header), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), "overruns"},
		{"varint over 64 bits", withCRC(append(clone(header), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)), "unreadable"},
		{"key length not minimal", withCRC(append(clone(header), 0x80, 0x00)), "not minimally encoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := decodeEntry(1, tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeEntry = %+v, %v; want an error containing %q", e, err, tc.want)
			}
			if !reflect.DeepEqual(e, Entry{}) {
				t.Fatalf("error %v came with an entry %+v", err, e)
			}
		})
	}
}

func TestDecodeDeadKeepsACorruptEntryRaw(t *testing.T) {
	died := time.Unix(7, 0)
	e := Entry{Seq: 4, Key: "room", Spooled: time.Unix(3, 0), Data: []byte("data")}
	for _, tc := range []struct {
		name string
		raw  []byte
		want Entry
	}{
		{"whole entry", encodeEntry(e), e},
		{"corrupt entry", []byte("garbage"), Entry{Seq: 4, Data: []byte("garbage")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeDead(4, encodeDead(died, "why", tc.raw))
			want := DeadLetter{Entry: tc.want, Reason: "why", Time: died}
			if err != nil || !reflect.DeepEqual(d, want) {
				t.Fatalf("decodeDead = %+v, %v; want %+v", d, err, want)
			}
		})
	}
}

// FuzzDecodeEntry checks that decodeEntry returns rather than panics, returns
// the zero Entry with an error, and that whatever it accepts encodes back to
// the same bytes. Each input is also tried with its checksum made to match, so
// that the fuzzer reaches the parsing behind the checksum.
func FuzzDecodeEntry(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkEntry(t, b)
		if len(b) >= headerLen {
			checkEntry(t, withCRC(b))
		}
	})
}

func checkEntry(t *testing.T, b []byte) {
	e, err := decodeEntry(7, b)
	if err != nil {
		if !reflect.DeepEqual(e, Entry{}) {
			t.Fatalf("error %v came with an entry %+v", err, e)
		}
		return
	}
	if e.Seq != 7 {
		t.Fatalf("Seq = %d, want 7", e.Seq)
	}
	if again := encodeEntry(e); !bytes.Equal(again, b) {
		t.Fatalf("decoded %+v re-encodes to %q, not %q", e, again, b)
	}
}

// FuzzDecodeDeadLetter checks the same of dead-letter records, and that the
// entry inside one either decodes or is kept as raw Data.
func FuzzDecodeDeadLetter(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDead(t, b)
		if len(b) >= headerLen {
			checkDead(t, withCRC(b))
		}
	})
}

func checkDead(t *testing.T, b []byte) {
	d, err := decodeDead(7, b)
	if err != nil {
		if !reflect.DeepEqual(d, DeadLetter{}) {
			t.Fatalf("error %v came with a dead letter %+v", err, d)
		}
		return
	}
	_, _, raw, _ := parseRecord(b)
	if again := encodeDead(d.Time, d.Reason, raw); !bytes.Equal(again, b) {
		t.Fatalf("decoded %+v re-encodes to %q, not %q", d, again, b)
	}
	if _, err := decodeEntry(7, raw); err == nil {
		if again := encodeEntry(d.Entry); !bytes.Equal(again, raw) {
			t.Fatalf("inner entry %+v re-encodes to %q, not %q", d.Entry, again, raw)
		}
	} else if d.Key != "" || !d.Spooled.IsZero() || !bytes.Equal(d.Data, raw) {
		t.Fatalf("corrupt inner entry (%v) came back as %+v, not as raw Data", err, d.Entry)
	}
}
