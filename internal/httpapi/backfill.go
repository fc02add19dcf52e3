package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

// BackfillCreate is the body of POST /schedules/{id}/backfill.
type BackfillCreate struct {
	_             struct{}  `json:"-" additionalProperties:"false"`
	Since         time.Time `json:"since" example:"2026-11-30T00:00:00Z" doc:"The range's start (inclusive)"`
	Until         time.Time `json:"until" example:"2026-12-01T00:00:00Z" doc:"The range's end (exclusive); not in the future"`
	RatePerSecond int       `json:"rate_per_second,omitempty" minimum:"1" maximum:"1000" doc:"At most this many runs started a second (default 10)"`
}

// Backfill is a backfill as the API returns it.
type Backfill struct {
	ID            int64   `json:"id"`
	ScheduleID    int64   `json:"schedule_id"`
	Since         string  `json:"since" format:"date-time"`
	Until         string  `json:"until" format:"date-time"`
	RatePerSecond int     `json:"rate_per_second"`
	Status        string  `json:"status" enum:"RUNNING,DONE,CANCELLED" doc:"CANCELLED: its schedule was deleted first"`
	Occurrences   int64   `json:"occurrences" doc:"How many occurrences the range held when the backfill was made"`
	Started       int64   `json:"started" doc:"Runs it has started, each with trigger backfill"`
	AlreadyRun    int64   `json:"already_run" doc:"Occurrences it found with a run already (by the schedule, a manual run at that instant or another backfill), which it did not run again"`
	NextAt        *string `json:"next_at" format:"date-time" doc:"The next occurrence it will consider; null once done"`
	CreatedAt     string  `json:"created_at" format:"date-time"`
	UpdatedAt     string  `json:"updated_at" format:"date-time"`
	FinishedAt    *string `json:"finished_at" format:"date-time"`
}

func newBackfill(b *apicron.Backfill) Backfill {
	return Backfill{ID: b.ID, ScheduleID: b.ScheduleID, Since: formatTime(b.Since), Until: formatTime(b.Until),
		RatePerSecond: b.RatePerSecond, Status: string(b.Status), Occurrences: b.Total, Started: b.Inserted,
		AlreadyRun: b.Existing, NextAt: nullTime(b.Next), CreatedAt: formatTime(b.CreatedAt), UpdatedAt: formatTime(b.UpdatedAt),
		FinishedAt: nullTime(b.FinishedAt)}
}

type backfillInput struct {
	ID      int64 `path:"id" doc:"Resource id"`
	RawBody []byte
	Body    BackfillCreate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *backfillInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type backfillOutput struct {
	Status int
	Body   Backfill
}

func (s *Server) createBackfill(ctx context.Context, in *backfillInput) (*backfillOutput, error) {
	b, err := s.store.CreateBackfill(ctx, in.ID, apicron.BackfillRequest{Since: in.Body.Since, Until: in.Body.Until,
		RatePerSecond: in.Body.RatePerSecond})
	if err != nil {
		return nil, s.apiError(ctx, "backfill schedule", err)
	}
	s.notify(in.ID)
	return &backfillOutput{Status: http.StatusAccepted, Body: newBackfill(b)}, nil
}

type listBackfillsOutput struct {
	Body []Backfill `nullable:"false"`
}

func (s *Server) listBackfills(ctx context.Context, in *idPath) (*listBackfillsOutput, error) {
	if _, err := s.store.FindScheduleByID(ctx, in.ID); err != nil {
		return nil, s.apiError(ctx, "list backfills", err)
	}
	list, err := s.store.FindBackfills(ctx, in.ID, maxBackfillsListed)
	if err != nil {
		return nil, s.apiError(ctx, "list backfills", err)
	}
	out := &listBackfillsOutput{Body: make([]Backfill, 0, len(list))}
	for _, b := range list {
		out.Body = append(out.Body, newBackfill(b))
	}
	return out, nil
}

// maxBackfillsListed is how many of a schedule's backfills GET lists, the newest.
const maxBackfillsListed = 100
