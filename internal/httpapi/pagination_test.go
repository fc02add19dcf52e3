package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

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
