package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
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
