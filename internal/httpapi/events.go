package httpapi

import (
	"context"

	"github.com/apicron/apicron"
)

// ScheduleEvent is one entry of a schedule's history.
type ScheduleEvent struct {
	ID         int64          `json:"id"`
	ScheduleID int64          `json:"schedule_id"`
	At         string         `json:"at" format:"date-time"`
	Kind       string         `json:"kind" enum:"created,updated,paused,resumed,stopped,triggered,backfilled"`
	Actor      string         `json:"actor" example:"token:9f86d081" doc:"Who: engine (what the engine did by itself), api (a call to an API without tokens), or token: and the first 8 hex digits of the SHA-256 of the token that made the call"`
	Detail     map[string]any `json:"detail" doc:"What: for updated, changed (each field changed, with its new value); for paused, reason and until; for resumed, automatic and paused_until when the until came; for stopped, reason; for triggered, run_id, forced and replaced_runs; for backfilled, backfill_id, since, until and occurrences"`
}

type listEventsInput struct {
	ID     int64 `path:"id" doc:"Resource id"`
	Limit  int   `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"At most this many, newest first"`
	Before int64 `query:"before" minimum:"1" doc:"Only events older than the event with this id (the last id of the page before)"`
}

type listEventsOutput struct {
	Body []ScheduleEvent `nullable:"false"`
}

func (s *Server) listEvents(ctx context.Context, in *listEventsInput) (*listEventsOutput, error) {
	if _, err := s.store.FindScheduleByID(ctx, in.ID); err != nil {
		return nil, s.apiError(ctx, "list schedule events", err)
	}
	list, err := s.store.FindEvents(ctx, in.ID, in.Before, in.Limit)
	if err != nil {
		return nil, s.apiError(ctx, "list schedule events", err)
	}
	out := &listEventsOutput{Body: make([]ScheduleEvent, 0, len(list))}
	for _, e := range list {
		out.Body = append(out.Body, newEvent(e))
	}
	return out, nil
}

func newEvent(e *apicron.ScheduleEvent) ScheduleEvent {
	d := e.Detail
	if d == nil {
		d = map[string]any{}
	}
	return ScheduleEvent{ID: e.ID, ScheduleID: e.ScheduleID, At: formatTime(e.At), Kind: string(e.Kind), Actor: e.Actor, Detail: d}
}
