package tencent

import (
	"encoding/json"
	"strings"
	"testing"
)

// lenientCase is one JSON value to decode into a field of a lenient type.
type lenientCase[T any] struct {
	in      string
	want    *T     // nil: the field stays nil
	wantErr string // non-empty: decoding fails with an error containing it
}

// checkLenient decodes each case's value as a pointer field, the way the
// payload types hold it, and checks the result.
func checkLenient[T comparable](t *testing.T, tests []lenientCase[T]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got struct {
				V *T `json:"v"`
			}
			err := json.Unmarshal([]byte(`{"v":`+tt.in+`}`), &got)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want == nil && got.V != nil:
				t.Fatalf("got %v, want nil", *got.V)
			case tt.want != nil && got.V == nil:
				t.Fatalf("got nil, want %v", *tt.want)
			case tt.want != nil && *got.V != *tt.want:
				t.Fatalf("got %v, want %v", *got.V, *tt.want)
			}
		})
	}
}

func TestBool(t *testing.T) {
	const msg = `want true, false, "true", "false", 0 or 1, got `
	checkLenient(t, []lenientCase[Bool]{
		{in: `true`, want: new(Bool(true))},
		{in: `false`, want: new(Bool(false))},
		{in: `"true"`, want: new(Bool(true))},
		{in: `"false"`, want: new(Bool(false))},
		{in: `"TRUE"`, want: new(Bool(true))},
		{in: `"False"`, want: new(Bool(false))},
		{in: `"\u0074rue"`, want: new(Bool(true))},
		{in: `1`, want: new(Bool(true))},
		{in: `0`, want: new(Bool(false))},
		{in: `"1"`, want: new(Bool(true))},
		{in: `"0"`, want: new(Bool(false))},
		{in: `null`, want: nil},

		{in: `2`, wantErr: msg + `2`},
		{in: `-1`, wantErr: msg + `-1`},
		{in: `1.0`, wantErr: msg + `1.0`},
		{in: `1e0`, wantErr: msg + `1e0`},
		{in: `-0`, wantErr: msg + `-0`},
		{in: `""`, wantErr: msg + `""`},
		{in: `"yes"`, wantErr: msg + `"yes"`},
		{in: `"t"`, wantErr: msg + `"t"`},
		{in: `" true"`, wantErr: msg + `" true"`},
		{in: `"01"`, wantErr: msg + `"01"`},
		{in: `"null"`, wantErr: msg + `"null"`},
		{in: `[]`, wantErr: msg + `an array`},
		{in: `[true]`, wantErr: msg + `an array`},
		{in: `{}`, wantErr: msg + `an object`},
	})
}

func TestInt64(t *testing.T) {
	const msg = "want an integer or a string holding one, got "
	checkLenient(t, []lenientCase[Int64]{
		{in: `0`, want: new(Int64(0))},
		{in: `-0`, want: new(Int64(0))},
		{in: `300`, want: new(Int64(300))},
		{in: `-42`, want: new(Int64(-42))},
		{in: `1670574414123`, want: new(Int64(1670574414123))},
		{in: `9223372036854775807`, want: new(Int64(9223372036854775807))},
		{in: `-9223372036854775808`, want: new(Int64(-9223372036854775808))},
		{in: `"1670574414123"`, want: new(Int64(1670574414123))},
		{in: `"-5"`, want: new(Int64(-5))},
		{in: `"007"`, want: new(Int64(7))},
		{in: `null`, want: nil},

		{in: `1.5`, wantErr: msg + `1.5`},
		{in: `1.0`, wantErr: msg + `1.0`},
		{in: `1e3`, wantErr: msg + `1e3`},
		{in: `1E3`, wantErr: msg + `1E3`},
		{in: `"1e3"`, wantErr: msg + `"1e3"`},
		{in: `"1.5"`, wantErr: msg + `"1.5"`},
		{in: `""`, wantErr: msg + `""`},
		{in: `"-"`, wantErr: msg + `"-"`},
		{in: `" 1"`, wantErr: msg + `" 1"`},
		{in: `"1 "`, wantErr: msg + `"1 "`},
		{in: `"+1"`, wantErr: msg + `"+1"`},
		{in: `"0x10"`, wantErr: msg + `"0x10"`},
		{in: `"1_000"`, wantErr: msg + `"1_000"`},
		{in: `"abc"`, wantErr: msg + `"abc"`},
		{in: `"١٢"`, wantErr: msg + `"١٢"`},
		{in: `9223372036854775808`, wantErr: "integer 9223372036854775808 is out of range"},
		{in: `-9223372036854775809`, wantErr: "integer -9223372036854775809 is out of range"},
		{in: `"9223372036854775808"`, wantErr: `integer "9223372036854775808" is out of range`},
		{in: `123456789012345678901234567890123456789012345`, wantErr: "integer 1234567890123456789012345678901234567890... is out of range"},
		{in: `true`, wantErr: msg + `true`},
		{in: `"true"`, wantErr: msg + `"true"`},
		{in: `[1]`, wantErr: msg + `an array`},
		{in: `{}`, wantErr: msg + `an object`},
	})
}

func TestString(t *testing.T) {
	const msg = "want a string or a number, got "
	checkLenient(t, []lenientCase[String]{
		{in: `"rid-123"`, want: new(String("rid-123"))},
		{in: `""`, want: new(String(""))},
		{in: `"caf\u00e9 \"q\""`, want: new(String(`café "q"`))},
		{in: `"会议室"`, want: new(String("会议室"))},
		{in: `12345`, want: new(String("12345"))},
		{in: `0`, want: new(String("0"))},
		{in: `-1.5`, want: new(String("-1.5"))},
		{in: `1e3`, want: new(String("1e3"))},
		{in: `123456789012345678901234567890`, want: new(String("123456789012345678901234567890"))},
		{in: `null`, want: nil},

		{in: `true`, wantErr: msg + `true`},
		{in: `false`, wantErr: msg + `false`},
		{in: `[]`, wantErr: msg + `an array`},
		{in: `["a"]`, wantErr: msg + `an array`},
		{in: `{}`, wantErr: msg + `an object`},
		{in: "\"room-\xff\xfe\"", wantErr: "string is not valid UTF-8"},
	})
}

// TestLenientNullKeepsValue checks that null into a field that is not a
// pointer leaves its value alone, as encoding/json does for its own types.
func TestLenientNullKeepsValue(t *testing.T) {
	got := struct {
		B Bool
		N Int64
		S String
	}{B: true, N: 7, S: "x"}
	if err := json.Unmarshal([]byte(`{"B":null,"N":null,"S":null}`), &got); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !got.B || got.N != 7 || got.S != "x" {
		t.Fatalf("null changed the values: %+v", got)
	}
}

// TestLenientDirectCalls feeds UnmarshalJSON bytes that encoding/json would
// never pass: the methods must fail, not panic or accept them.
func TestLenientDirectCalls(t *testing.T) {
	for _, in := range []string{``, `12abc`, `-`, `+1`, `007`, `"unterminated`, `tru`, `nul`} {
		t.Run(in, func(t *testing.T) {
			var b Bool
			var n Int64
			var s String
			if err := b.UnmarshalJSON([]byte(in)); err == nil {
				t.Errorf("Bool accepted %q as %v", in, b)
			}
			if err := n.UnmarshalJSON([]byte(in)); err == nil {
				t.Errorf("Int64 accepted %q as %v", in, n)
			}
			if err := s.UnmarshalJSON([]byte(in)); err == nil {
				t.Errorf("String accepted %q as %q", in, s)
			}
		})
	}
}

func TestDescribeCutsAtRuneBoundary(t *testing.T) {
	long := `"` + strings.Repeat("é", 30) + `"`
	got := describe([]byte(long))
	want := `"` + strings.Repeat("é", 19) + "..."
	if got != want {
		t.Fatalf("describe(%s) = %s, want %s", long, got, want)
	}
}
