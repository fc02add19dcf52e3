package executor

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/apicron/apicron"
)

// readBufSize is the fixed buffer a body is read through: the first
// apicron.MaxStoredBody bytes are kept in it, the rest is read over its tail
// and dropped, so a body of any length costs the same memory.
const readBufSize = 32 << 10

var readBufPool = sync.Pool{New: func() any {
	b := make([]byte, readBufSize)
	return &b
}}

// readBody reads r until EOF, an error or limit bytes. It returns how many
// bytes it counted (at most limit), the first apicron.MaxStoredBody of them
// as text (see storedText), whether the body went on past limit, and the
// read error, if any.
func readBody(r io.Reader, limit int64) (size int64, stored string, truncated bool, err error) {
	bp := readBufPool.Get().(*[]byte)
	defer readBufPool.Put(bp)
	buf := *bp
	// One byte past the limit tells a body of exactly limit bytes from a longer one.
	lr := io.LimitedReader{R: r, N: limit + 1}
	kept := 0
	for {
		p := buf[apicron.MaxStoredBody:]
		if kept < apicron.MaxStoredBody {
			p = buf[kept:apicron.MaxStoredBody]
		}
		n, rerr := lr.Read(p)
		if kept < apicron.MaxStoredBody {
			kept += n
		}
		size += int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	if size > limit {
		size, truncated = limit, true
	}
	kept = int(min(int64(kept), size))
	return size, storedText(buf[:kept], size > int64(kept)), truncated, err
}

// MaxAssertedBody is how much of a body the assertions on it read: the
// first MiB, so a run in flight holds at most that much of its answer.
const MaxAssertedBody = 1 << 20

// readWholeBody reads r as readBody does, and also returns the body's first
// MaxAssertedBody bytes (at most limit), for the assertions on it.
func readWholeBody(r io.Reader, limit int64) (size int64, stored string, head []byte, truncated bool, err error) {
	var buf bytes.Buffer
	keep := min(limit, MaxAssertedBody)
	n, err := buf.ReadFrom(io.LimitReader(r, keep))
	size = n
	if err == nil && n == keep {
		// The rest is counted, not kept; one byte past the limit tells a
		// body of exactly limit bytes from a longer one.
		var rest int64
		rest, err = io.Copy(io.Discard, io.LimitReader(r, limit+1-keep))
		size += rest
	}
	if size > limit {
		size, truncated = limit, true
	}
	head = buf.Bytes()
	kept := min(len(head), apicron.MaxStoredBody)
	return size, storedText(head[:kept], size > int64(kept)), head, truncated, err
}

// storedText makes the kept bytes of a body safe to store as text: a rune
// split by the cut is dropped, invalid UTF-8 becomes U+FFFD, and so does NUL
// (PostgreSQL text cannot hold it). The result is at most
// apicron.MaxStoredBody bytes, cut at a rune boundary. A binary body is
// therefore stored mangled but never breaks the insert of its run.
func storedText(b []byte, cut bool) string {
	if cut {
		b = dropPartialRune(b)
	}
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	return truncateText(s, apicron.MaxStoredBody)
}

// dropPartialRune removes an incomplete UTF-8 sequence at the end of b.
func dropPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}
