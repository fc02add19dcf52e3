package executor

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apicron/apicron"
)

// endless reads as an infinite body of 'a'.
type endless struct{}

var aBlock = bytes.Repeat([]byte("a"), readBufSize)

func (endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], aBlock)
	}
	return n, nil
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	stored := apicron.MaxStoredBody
	tests := []struct {
		name      string
		r         io.Reader
		limit     int64
		size      int64
		stored    string
		truncated bool
		err       error
	}{
		{"empty", strings.NewReader(""), 100, 0, "", false, nil},
		{"small", strings.NewReader("hello"), 100, 5, "hello", false, nil},
		{"exactly the limit", strings.NewReader("hello"), 5, 5, "hello", false, nil},
		{"over the limit", strings.NewReader("hello!"), 5, 5, "hello", true, nil},
		{"endless", endless{}, 1 << 20, 1 << 20, strings.Repeat("a", stored), true, nil},
		{"longer than stored", strings.NewReader(strings.Repeat("b", 3*stored)), 1 << 20, int64(3 * stored), strings.Repeat("b", stored), false, nil},
		{"error", io.MultiReader(strings.NewReader("part"), errReader{io.ErrUnexpectedEOF}), 100, 4, "part", false, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, stored, truncated, err := readBody(tt.r, tt.limit)
			if size != tt.size || stored != tt.stored || truncated != tt.truncated || !errors.Is(err, tt.err) {
				t.Errorf("readBody = %d, %d bytes, %v, %v; want %d, %d bytes, %v, %v",
					size, len(stored), truncated, err, tt.size, len(tt.stored), tt.truncated, tt.err)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestReadBody_ConstantMemory shows that reading a body costs the same
// whatever its length: the stored text and nothing that grows.
func TestReadBody_ConstantMemory(t *testing.T) {
	allocs := testing.AllocsPerRun(5, func() {
		if size, _, _, _ := readBody(endless{}, 16<<20); size != 16<<20 {
			t.Fatalf("size = %d", size)
		}
	})
	if allocs > 2 {
		t.Errorf("reading 16 MiB allocated %v times, want at most 2", allocs)
	}
}

func TestStoredText(t *testing.T) {
	t.Parallel()
	stored := apicron.MaxStoredBody
	tests := []struct {
		name string
		in   []byte
		cut  bool
		want string
	}{
		{"ascii", []byte("ok"), false, "ok"},
		{"utf8", []byte("héllo"), false, "héllo"},
		{"invalid", []byte("a\xffb"), false, "a\uFFFDb"},
		{"nul", []byte("a\x00b"), false, "a\uFFFDb"},
		{"rune split by the cut", []byte("ab\xc3"), true, "ab"},
		{"rune split without a cut", []byte("ab\xc3"), false, "ab\uFFFD"},
		{"three-byte rune split", []byte("a\xe2\x82"), true, "a"},
		{"whole rune at the cut", []byte("a\xe2\x82\xac"), true, "a€"},
	}
	for _, tt := range tests {
		if got := storedText(tt.in, tt.cut); got != tt.want {
			t.Errorf("%s: storedText(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	binary := bytes.Repeat([]byte{0xff, 'a'}, stored/2)
	if got := storedText(binary, true); len(got) > stored || !utf8.ValidString(got) {
		t.Errorf("binary body stored as %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func FuzzStoredText(f *testing.F) {
	f.Add([]byte("hello"), false)
	f.Add([]byte("h\xc3\xa9llo\xe2\x82"), true)
	f.Add([]byte{0, 0xff, 0xfe, 'a'}, false)
	f.Fuzz(func(t *testing.T, b []byte, cut bool) {
		if len(b) > apicron.MaxStoredBody {
			b = b[:apicron.MaxStoredBody]
		}
		s := storedText(b, cut)
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > apicron.MaxStoredBody {
			t.Errorf("storedText(%q) = %q: invalid, NUL or too long", b, s)
		}
		if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 && s != string(b) {
			t.Errorf("valid text changed: %q -> %q", b, s)
		}
	})
}
