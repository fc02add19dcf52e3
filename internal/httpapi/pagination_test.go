package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/httpapi"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

func TestPagination(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		e := newTestEnv(t, driver)
		var targetIDs, scheduleIDs []int64
		for i := range 101 {
			tg := mustCreateTarget(t, e, fmt.Sprintf(`{"name": "t%d", "url": "https://example.com/%d"}`, i, i))
			targetIDs = append(targetIDs, tg.ID)
			if i < 5 {
				scheduleIDs = append(scheduleIDs, mustCreateSchedule(t, e, tg.ID, 10+i).ID)
			}
		}
		ids := func(t *testing.T, path string) ([]int64, string) {
			t.Helper()
			var list []struct {
				ID         int64 `json:"id"`
				ScheduleID int64 `json:"schedule_id"`
			}
			r := e.expect(t, http.MethodGet, path, nil, http.StatusOK, &list)
			out := []int64{}
			for _, x := range list {
				out = append(out, x.ID+x.ScheduleID)
			}
			return out, r.header.Get("X-Total-Count")
		}
		cases := []struct {
			path  string
			want  []int64
			total string
		}{
			{"/targets", targetIDs[:100], "101"},
			{"/targets?offset=100", targetIDs[100:], "101"},
			{"/targets?limit=1000", targetIDs, "101"},
			{"/targets?limit=3&offset=10", targetIDs[10:13], "101"},
			{"/targets?offset=101", []int64{}, "101"},
			{"/schedules", scheduleIDs, "5"},
			{"/schedules?limit=2", scheduleIDs[:2], "5"},
			{"/schedules?limit=2&offset=4", scheduleIDs[4:], "5"},
			{"/schedules?offset=5", []int64{}, "5"},
			{fmt.Sprintf("/schedules?target_id=%d&limit=1", targetIDs[2]), scheduleIDs[2:3], "1"},
			{"/metrics/schedules?limit=2&offset=1", scheduleIDs[1:3], "5"},
			{"/metrics/schedules?offset=5", []int64{}, "5"},
		}
		for _, c := range cases {
			t.Run(c.path, func(t *testing.T) {
				got, total := ids(t, c.path)
				if fmt.Sprint(got) != fmt.Sprint(c.want) || total != c.total {
					t.Errorf("got %v (X-Total-Count %s), want %v (%s)", got, total, c.want, c.total)
				}
			})
		}
		for _, path := range []string{"/targets", "/schedules", "/runs", "/metrics/schedules"} {
			for _, q := range []struct{ query, loc string }{
				{"limit=0", "query.limit"},
				{"limit=-1", "query.limit"},
				{"limit=1001", "query.limit"},
				{"limit=x", "query.limit"},
				{"offset=-1", "query.offset"},
				{"offset=x", "query.offset"},
			} {
				e.expectProblem(t, http.MethodGet, path+"?"+q.query, nil, 422, q.loc)
			}
		}
	})
}

// newFilledEnv is newTestEnv over a database that also holds n runs of its
// own schedules (storetest.FillRuns), scheduled a second apart and before
// the clock's start; it returns the schedules and the ids of the runs.
func newFilledEnv(t *testing.T, driver string, schedules, n int) (e *testEnv, fill []*apicron.Schedule, first, last int64) {
	t.Helper()
	dsn := storetest.NewDSN(t, driver)
	var db *store.DB
	e = newTestEnv(t, driver, func(c *httpapi.Config) {
		db = storetest.OpenDSN(t, driver, dsn, store.Config{Clock: c.Clock})
		c.Store = db
	})
	e.db = db
	for i := range schedules {
		tg := mustCreateTarget(t, e, fmt.Sprintf(`{"name": "fill%d", "url": "https://example.com/%d"}`, i, i))
		s := mustCreateSchedule(t, e, tg.ID, 10)
		fill = append(fill, &apicron.Schedule{ID: s.ID, TargetID: tg.ID})
	}
	first, last = storetest.FillRuns(t, driver, dsn, n, fill, testStart.Add(-time.Duration(n)*time.Second), time.Second)
	return e, fill, first, last
}

// GET /runs counts at most apicron.MaxRunOffset runs, and says when more
// match; every offset below the count is one it takes, and a list longer
// than the count is paged to its end by cursor.
func TestRuns_CountCapped(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, driver string) {
		const n = apicron.MaxRunOffset + 50
		e, fill, first, last := newFilledEnv(t, driver, 2, n)
		r := e.expect(t, http.MethodGet, "/runs?limit=1", nil, http.StatusOK, nil)
		if r.header.Get("X-Total-Count") != strconv.Itoa(apicron.MaxRunOffset) || r.header.Get("X-Total-Count-Capped") != "true" {
			t.Errorf("%d runs: X-Total-Count %q, X-Total-Count-Capped %q; want %d and true", n, r.header.Get("X-Total-Count"),
				r.header.Get("X-Total-Count-Capped"), apicron.MaxRunOffset)
		}
		r = e.expect(t, http.MethodGet, fmt.Sprintf("/runs?limit=1&schedule_id=%d", fill[0].ID), nil, http.StatusOK, nil)
		if r.header.Get("X-Total-Count") != strconv.Itoa(n/2) || r.header.Get("X-Total-Count-Capped") != "" {
			t.Errorf("%d runs of a schedule: X-Total-Count %q, X-Total-Count-Capped %q", n/2, r.header.Get("X-Total-Count"), r.header.Get("X-Total-Count-Capped"))
		}
		var page []run
		e.expect(t, http.MethodGet, fmt.Sprintf("/runs?limit=1&offset=%d", apicron.MaxRunOffset-1), nil, http.StatusOK, &page)
		if len(page) != 1 || page[0].ID != last-apicron.MaxRunOffset+1 {
			t.Errorf("the last offset below the count: %+v, want run %d", page, last-apicron.MaxRunOffset+1)
		}

		next := last
		path := "/runs?limit=1000"
		for path != "" {
			var page []run
			r := e.expect(t, http.MethodGet, path, nil, http.StatusOK, &page)
			for _, x := range page {
				if x.ID != next {
					t.Fatalf("GET %s: run %d, want %d", path, x.ID, next)
				}
				next--
			}
			path = nextLink(t, r)
		}
		if next != first-1 {
			t.Errorf("paged by cursor down to run %d, want %d", next+1, first)
		}
	})
}

// A million runs, and 16 clients paging deep through them for 5 s: some
// with offsets far past the bound (as the attack that found this did: they
// are refused), some with offsets up to it, the others by cursor, from the
// first page or from anywhere in the list, with each filter, time ranges far
// from the newest runs among them. Meanwhile /health, asked every 100 ms,
// answers 200 within a second every time; before, it answered 503 ("the
// database does not answer") or not at all while the clients held every
// reader, and a query with since, until and a deep offset took seconds.
func TestRuns_DeepPagingUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("long: builds a million runs; run without -short")
	}
	t.Parallel()
	// One database at a time: the machine's cores are what the clients
	// contend for, and /health with them.
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) { deepPagingUnderLoad(t, driver) })
	}
}

// deepPagingUnderLoad is TestRuns_DeepPagingUnderLoad on one database.
func deepPagingUnderLoad(t *testing.T, driver string) {
	if driver == "sqlite" && storetest.RaceDetector {
		t.Skip("a million runs take minutes to insert into SQLite under the race detector; run without -race")
	}
	const n = 1_000_000
	e, fill, first, last := newFilledEnv(t, driver, 8, n)
	// The runs of fill are scheduled a second apart up to testStart.
	at := func(id int64) string {
		return url.QueryEscape(testStart.Add(-time.Duration(last-id+1) * time.Second).Format(time.RFC3339))
	}
	// A cursor is opaque, but an attacker may well read one: this one asks
	// for the runs before any id, or, in one schedule's list (which is in
	// scheduled_at order), before that run's time.
	cursor := func(id int64, filter string) string {
		if strings.Contains(filter, "schedule_id=") {
			ms := testStart.Add(-time.Duration(last-id+1) * time.Second).UnixMilli()
			return base64.RawURLEncoding.EncodeToString([]byte("at:" + strconv.FormatInt(ms, 10)))
		}
		return base64.RawURLEncoding.EncodeToString([]byte("id:" + strconv.FormatInt(id, 10)))
	}
	filters := []string{
		"",
		fmt.Sprintf("schedule_id=%d", fill[3].ID),
		fmt.Sprintf("target_id=%d", fill[5].TargetID),
		"status=FAILED",
		"since=" + at(first+n/4) + "&until=" + at(first+n/2),
		"until=" + at(first+n/10),
		fmt.Sprintf("schedule_id=%d&status=SUCCESS&since=%s", fill[1].ID, at(first+n/3)),
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: time.Minute}
	t.Cleanup(client.CloseIdleConnections)
	// get returns the status and the Link of GET path.
	get := func(path string) (int, string, error) {
		resp, err := client.Get(e.srv.URL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Link"), err
	}

	ctx, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		requests    = map[string]int{} // by kind
		spent       = map[string]time.Duration{}
		slowestReq  = map[string]time.Duration{}
		slowestPath = map[string]string{}
		failures    []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var unhealthy []string // every /health that failed
	for c := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(c), 1))
			next := ""
			for i := 0; ctx.Err() == nil; i++ {
				filter := filters[(c+i)%len(filters)]
				var path string
				want, kind := http.StatusOK, ""
				switch {
				case c%4 == 0: // the attack as it was: far past the bound
					path = fmt.Sprintf("/runs?offset=%d&%s", n/2+rnd.IntN(n/2), filter)
					want, kind = http.StatusUnprocessableEntity, "offset past the bound"
				case c%4 == 1: // offsets up to the bound
					path = fmt.Sprintf("/runs?offset=%d&%s", apicron.MaxRunOffset-rnd.IntN(1000), filter)
					kind = "offset up to the bound"
				case next != "" && i%8 != 0: // the next page
					path, kind = next, "cursor: next page"
				case c%4 == 2: // a page anywhere in the list
					path = fmt.Sprintf("/runs?cursor=%s&%s", cursor(first+rnd.Int64N(n), filter), filter)
					kind = "cursor: deep"
				default:
					path, kind = "/runs?"+filter, "cursor: first page"
				}
				began := time.Now()
				status, link, err := get(path)
				took := time.Since(began)
				if err != nil {
					if ctx.Err() == nil {
						fail("GET %s: %v", path, err)
					}
					return
				}
				if status != want {
					fail("GET %s: %d, want %d", path, status, want)
				}
				next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
				mu.Lock()
				requests[kind]++
				spent[kind] += took
				if took > slowestReq[kind] {
					slowestReq[kind] = took
					slowestPath[kind] = path
				}
				mu.Unlock()
			}
		}()
	}

	probe := &http.Client{Timeout: time.Second}
	var slowest time.Duration
	checks := 0
	tick := time.NewTicker(100 * time.Millisecond)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			start := time.Now()
			resp, err := probe.Get(e.srv.URL + "/health")
			took := time.Since(start)
			slowest = max(slowest, took)
			checks++
			if err != nil {
				unhealthy = append(unhealthy, fmt.Sprintf("/health after %v: %v", took, err))
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				unhealthy = append(unhealthy, fmt.Sprintf("/health after %v: %d %s", took, resp.StatusCode, body))
			}
		}
	}
	tick.Stop()
	wg.Wait()
	t.Logf("%d /health checks, the slowest %v; requests: %v", checks, slowest, requests)
	for k, v := range requests {
		t.Logf("%s: %d, mean %v, slowest %v %s", k, v, spent[k]/time.Duration(v), slowestReq[k], slowestPath[k])
	}
	for _, f := range append(unhealthy, failures...) {
		t.Error(f)
	}
	// A guard that the probes and every kind of request ran, not a bound
	// on their speed: each /health must answer within the probe's second,
	// and under -race on a loaded machine one takes a few hundred ms.
	if checks < 5 || len(requests) != 5 {
		t.Errorf("%d /health checks, requests %v: the test did not run as meant", checks, requests)
	}
}
