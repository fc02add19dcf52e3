package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

type listRunsInput struct {
	Paging
	Cursor       string    `query:"cursor" doc:"Continue after the page that sent this value in X-Next-Cursor, with the same filters: a page by cursor costs the same however deep, and runs recorded meanwhile do not shift it. Not with offset, which goes at most 10000 runs deep. Lists are newest first by id; with schedule_id, by scheduled_at"`
	ScheduleID   int64     `query:"schedule_id" minimum:"1" doc:"Only runs of this schedule"`
	TargetID     int64     `query:"target_id" minimum:"1" doc:"Only runs of this target"`
	StatusFilter string    `query:"status_filter" enum:"RUNNING,SUCCESS,FAILED,TIMEOUT,DNS_ERROR,CONNECTION_ERROR,INTERRUPTED" doc:"Only runs with this status"`
	Status       string    `query:"status" enum:"RUNNING,SUCCESS,FAILED,TIMEOUT,DNS_ERROR,CONNECTION_ERROR,INTERRUPTED" doc:"Alias of status_filter"`
	Trigger      string    `query:"trigger" enum:"schedule,manual,backfill,catch_up" example:"manual" doc:"Only runs started this way: by the timetable (schedule), POST /schedules/{id}/trigger (manual), a backfill, or the catch_up misfire policy"`
	Since        time.Time `query:"since" doc:"Only runs scheduled at or after this instant (RFC 3339)"`
	Until        time.Time `query:"until" doc:"Only runs scheduled before this instant (RFC 3339)"`

	url url.URL // the request's, for the link to the next page
}

// Resolve keeps the request's URL: the next page is the same request with a
// cursor, and a cursor must not come with an offset.
func (in *listRunsInput) Resolve(ctx huma.Context) []error {
	in.url = ctx.URL()
	return nil
}

type listRunsOutput struct {
	TotalCount       int    `header:"X-Total-Count" doc:"Number of matching runs in all pages, counted up to 10000 (X-Total-Count-Capped says when more match)"`
	TotalCountCapped string `header:"X-Total-Count-Capped" doc:"true when more runs match than X-Total-Count, which stops counting at 10000; absent otherwise"`
	NextCursor       string `header:"X-Next-Cursor" doc:"The cursor of the next page (send it as cursor, with the same filters); absent on the last page"`
	Link             string `header:"Link" doc:"The next page as an RFC 8288 link, rel=\"next\": this request with its cursor; absent on the last page"`
	Body             []Run  `nullable:"false"`
}

type runOutput struct {
	Body RunDetail
}

func (s *Server) listRuns(ctx context.Context, in *listRunsInput) (*listRunsOutput, error) {
	// One run more than the page tells whether another page follows.
	f := apicron.RunFilter{Limit: in.Limit + 1, Offset: in.Offset, CountLimit: apicron.MaxRunOffset + 1}
	if in.Cursor != "" {
		if in.url.Query().Has("offset") {
			return nil, invalidParam("query.cursor", "cannot go with offset: the cursor says where the page starts; drop offset")
		}
		c, ok := decodeCursor(in.Cursor)
		if !ok {
			return nil, invalidParam("query.cursor", "is not a cursor GET /runs sent in X-Next-Cursor")
		}
		if c.bySchedule != (in.ScheduleID != 0) {
			return nil, invalidParam("query.cursor", "comes from a list with other filters: send it with the filters of the request that sent it")
		}
		if c.bySchedule {
			at := time.UnixMilli(c.key).UTC()
			f.BeforeScheduledAt = &at
		} else {
			f.BeforeID = c.key
		}
	}
	if in.Offset > apicron.MaxRunOffset {
		return nil, invalidParam("query.offset", fmt.Sprintf("must be at most %d; page deeper with cursor, from the X-Next-Cursor header of the page before", apicron.MaxRunOffset))
	}
	if in.ScheduleID != 0 {
		f.ScheduleID = &in.ScheduleID
	}
	if in.TargetID != 0 {
		f.TargetID = &in.TargetID
	}
	status := in.StatusFilter
	if in.Status != "" {
		if status != "" && status != in.Status {
			return nil, invalidParam("query.status", "contradicts status_filter; give one of them")
		}
		status = in.Status
	}
	if status != "" {
		st := apicron.RunStatus(status)
		f.Status = &st
	}
	if in.Trigger != "" {
		tr := apicron.Trigger(in.Trigger)
		f.Trigger = &tr
	}
	if !in.Since.IsZero() {
		t := in.Since.UTC()
		f.Since = &t
	}
	if !in.Until.IsZero() {
		t := in.Until.UTC()
		f.Until = &t
	}
	runs, total, err := s.store.FindRuns(ctx, f)
	if err != nil {
		return nil, s.apiError(ctx, "list runs", err)
	}
	out := &listRunsOutput{TotalCount: min(total, apicron.MaxRunOffset)}
	if total > apicron.MaxRunOffset {
		out.TotalCountCapped = "true"
	}
	if len(runs) > in.Limit {
		runs = runs[:in.Limit]
		last := runs[len(runs)-1]
		c := cursor{key: last.ID}
		if in.ScheduleID != 0 {
			c = cursor{bySchedule: true, key: last.ScheduledAt.UnixMilli()}
		}
		out.NextCursor = c.encode()
		out.Link = nextLink(in.url, out.NextCursor)
	}
	out.Body = make([]Run, 0, len(runs))
	for _, r := range runs {
		out.Body = append(out.Body, newRun(r))
	}
	return out, nil
}

// cursor is where the next page of a list starts: after the run whose key
// it holds, in the list's order. The key is a run id (newest first by id),
// or, for one schedule's list (schedule_id), the run's scheduled_at in unix
// milliseconds (newest first by scheduled_at; see apicron.RunFilter).
// Clients get it base64url-encoded, opaque, so that it can change without
// their noticing.
type cursor struct {
	bySchedule bool
	key        int64
}

// The prefixes of the two kinds of cursor before they are encoded.
const (
	cursorByID       = "id:"
	cursorBySchedule = "at:"
)

func (c cursor) encode() string {
	prefix := cursorByID
	if c.bySchedule {
		prefix = cursorBySchedule
	}
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.FormatInt(c.key, 10)))
}

// decodeCursor returns the cursor encode made of c; false for anything else.
func decodeCursor(s string) (cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	var c cursor
	digits, ok := strings.CutPrefix(string(raw), cursorByID)
	if !ok {
		if digits, ok = strings.CutPrefix(string(raw), cursorBySchedule); !ok {
			return cursor{}, false
		}
		c.bySchedule = true
	}
	key, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || key < 1 {
		return cursor{}, false
	}
	c.key = key
	if c.encode() != s {
		return cursor{}, false
	}
	return c, true
}

// nextLink is the Link header of the page after the request u: the same
// request, by cursor.
func nextLink(u url.URL, cursor string) string {
	q := u.Query()
	q.Del("offset")
	q.Set("cursor", cursor)
	return "<" + (&url.URL{Path: u.Path, RawQuery: q.Encode()}).String() + `>; rel="next"`
}

func (s *Server) getRun(ctx context.Context, in *idPath) (*runOutput, error) {
	r, err := s.store.FindRunByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "get run", err)
	}
	return &runOutput{Body: newRunDetail(r)}, nil
}
