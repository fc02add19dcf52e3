package histcheck_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron/internal/histcheck"
)

// TestRecordAndReadLog: requests recorded concurrently through Record
// read back from the file as they arrived; one without apicron headers is
// recorded with run id 0.
func TestRecordAndReadLog(t *testing.T) {
	var file bytes.Buffer
	log := histcheck.NewLog(&syncWriter{w: &file})
	sink := httptest.NewServer(histcheck.Record(log, nil))
	defer sink.Close()
	const n = 20
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, sink.URL, nil)
			req.Header.Set(histcheck.HeaderRunID, strconv.Itoa(100+i))
			req.Header.Set(histcheck.HeaderScheduleID, "7")
			req.Header.Set(histcheck.HeaderScheduledAt, t0.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05.000Z07:00"))
			req.Header.Set(histcheck.HeaderAttempt, "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	resp, err := http.Get(sink.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := log.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := histcheck.ReadLog(&file)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n+1 || len(log.Requests()) != n+1 {
		t.Fatalf("read %d requests, kept %d; want %d", len(got), len(log.Requests()), n+1)
	}
	seen := map[int64]bool{}
	for _, r := range got[:n] {
		i := r.RunID - 100
		if r.ScheduleID != 7 || r.Attempt != 1 || !r.ScheduledAt.Equal(t0.Add(time.Duration(i)*time.Second)) || r.ReceivedAt.IsZero() || seen[r.RunID] {
			t.Errorf("request %+v", r)
		}
		seen[r.RunID] = true
	}
	if last := got[n]; last.RunID != 0 || last.ReceivedAt.IsZero() {
		t.Errorf("request without headers recorded as %+v, want run id 0", last)
	}
}

// TestReadLogErrors: a line that does not parse is reported by number;
// blank lines are skipped.
func TestReadLogErrors(t *testing.T) {
	var b bytes.Buffer
	if err := histcheck.WriteRequest(&b, histcheck.Request{ScheduleID: 1, ScheduledAt: t0, Attempt: 1, RunID: 2, ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n{not json}\n")
	_, err := histcheck.ReadLog(&b)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("ReadLog = %v, want an error naming line 3", err)
	}
}

// syncWriter lets the test read the buffer the log wrote while the race
// detector watches.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
