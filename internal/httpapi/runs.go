package httpapi

import (
	"context"
	"time"

	"github.com/apicron/apicron"
)

type listRunsInput struct {
	Paging
	ScheduleID   int64     `query:"schedule_id" minimum:"1" doc:"Only runs of this schedule"`
	TargetID     int64     `query:"target_id" minimum:"1" doc:"Only runs of this target"`
	StatusFilter string    `query:"status_filter" enum:"RUNNING,SUCCESS,FAILED,TIMEOUT,DNS_ERROR,CONNECTION_ERROR,INTERRUPTED" doc:"Only runs with this status"`
	Status       string    `query:"status" enum:"RUNNING,SUCCESS,FAILED,TIMEOUT,DNS_ERROR,CONNECTION_ERROR,INTERRUPTED" doc:"Alias of status_filter"`
	Since        time.Time `query:"since" doc:"Only runs scheduled at or after this instant (RFC 3339)"`
	Until        time.Time `query:"until" doc:"Only runs scheduled before this instant (RFC 3339)"`
}

type listRunsOutput struct {
	TotalCount int   `header:"X-Total-Count" doc:"Number of matching runs in all pages"`
	Body       []Run `nullable:"false"`
}

type runOutput struct {
	Body RunDetail
}

func (s *Server) listRuns(ctx context.Context, in *listRunsInput) (*listRunsOutput, error) {
	f := apicron.RunFilter{Limit: in.Limit, Offset: in.Offset}
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
	out := &listRunsOutput{TotalCount: total, Body: make([]Run, 0, len(runs))}
	for _, r := range runs {
		out.Body = append(out.Body, newRun(r))
	}
	return out, nil
}

func (s *Server) getRun(ctx context.Context, in *idPath) (*runOutput, error) {
	r, err := s.store.FindRunByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "get run", err)
	}
	return &runOutput{Body: newRunDetail(r)}, nil
}
