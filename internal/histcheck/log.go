package histcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/apicron/apicron"
)

// The headers every request of a run carries (internal/executor).
const (
	HeaderRunID       = "X-Apicron-Run-Id"
	HeaderScheduleID  = "X-Apicron-Schedule-Id"
	HeaderScheduledAt = "X-Apicron-Scheduled-At"
	HeaderAttempt     = "X-Apicron-Attempt"
	// HeaderRerun is on a request of a run sent again after its node
	// stopped mid-request (retry_interrupted): how many times it was.
	HeaderRerun = "X-Apicron-Rerun"
)

// Request is one request a sink received, as its apicron headers name it.
// A request without them (a token endpoint's, a probe's) has RunID 0; so
// has a target test (POST /targets/{id}/test), which is no run.
type Request struct {
	ScheduleID  int64     `json:"schedule_id"`
	ScheduledAt time.Time `json:"scheduled_at"`
	Attempt     int       `json:"attempt"`
	// Rerun is the run's reruns when the request left: 0, or how many
	// times the run was sent again after its node stopped (retry_interrupted).
	Rerun int   `json:"rerun,omitempty"`
	RunID int64 `json:"run_id"`
	// Node is the apicron node that sent it, when the sink can tell (one
	// sink per node, say); empty otherwise.
	Node       string    `json:"node,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// occurrence is a (schedule, scheduled_at) pair, scheduled_at in unix ms:
// the unit apicron stores and its header carries.
type occurrence struct {
	schedule int64
	at       int64
}

func (r *Request) occurrence() occurrence {
	return occurrence{schedule: r.ScheduleID, at: r.ScheduledAt.UnixMilli()}
}

// FromHTTP reads the apicron headers of r, received at at. It fails on a
// request that lacks them or carries one that does not parse.
func FromHTTP(r *http.Request, at time.Time) (Request, error) {
	req := Request{ReceivedAt: at.UTC()}
	var err error
	if req.RunID, err = headerInt(r, HeaderRunID); err != nil {
		return req, err
	}
	if req.ScheduleID, err = headerInt(r, HeaderScheduleID); err != nil {
		return req, err
	}
	n, err := headerInt(r, HeaderAttempt)
	if err != nil {
		return req, err
	}
	req.Attempt = int(n)
	if r.Header.Get(HeaderRerun) != "" {
		n, err := headerInt(r, HeaderRerun)
		if err != nil {
			return req, err
		}
		req.Rerun = int(n)
	}
	v := r.Header.Get(HeaderScheduledAt)
	if req.ScheduledAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
		return req, fmt.Errorf("%s %q: %w", HeaderScheduledAt, v, err)
	}
	req.ScheduledAt = apicron.TruncMillis(req.ScheduledAt)
	return req, nil
}

func headerInt(r *http.Request, name string) (int64, error) {
	v := r.Header.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", name, v, err)
	}
	return n, nil
}

// WriteRequest appends r to w as one JSON line.
func WriteRequest(w io.Writer, r Request) error {
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	return nil
}

// ReadLog reads a log of JSON lines, as WriteRequest writes them. Blank
// lines are skipped; a line that does not parse fails with its number.
func ReadLog(r io.Reader) ([]Request, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []Request
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			return nil, fmt.Errorf("sink log line %d: %w", n, err)
		}
		out = append(out, req)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read sink log: %w", err)
	}
	return out, nil
}

// Log is a sink's log: every request appended as a JSON line to its
// writer (when it has one) and kept in memory, so a test can check what it
// received without reading the file back. It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	w    io.Writer
	reqs []Request
	err  error
}

// NewLog returns a Log writing to w; nil w keeps the requests in memory only.
func NewLog(w io.Writer) *Log { return &Log{w: w} }

// Add records r. A failed write is kept (Err) and later writes are
// dropped from the file, not from memory: the history stays whole there.
func (l *Log) Add(r Request) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	if l.w == nil || l.err != nil {
		return l.err
	}
	l.err = WriteRequest(l.w, r)
	return l.err
}

// Requests returns a copy of the requests recorded so far, in arrival order.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Err returns the first write error, if any.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Record returns a handler that records each request in log and then
// serves it with next (nil: an empty 200). The request is recorded on
// arrival, before next runs, so one that next delays past apicron's
// timeout still counts as received. A request without apicron headers is
// recorded with RunID 0, so the log tells how many there were.
func Record(log *Log, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := FromHTTP(r, time.Now())
		if err != nil {
			req = Request{ReceivedAt: req.ReceivedAt} // not a run's request: counted, not checked
		}
		_ = log.Add(req) // a failed write stays in log.Err; the sink must still answer
		if next == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}
