package httpapi

import (
	"context"

	"github.com/apicron/apicron"
)

type systemMetricsOutput struct {
	Body SystemMetrics
}

type listScheduleMetricsInput struct {
	Limit  int `query:"limit" default:"100" minimum:"1" maximum:"1000" doc:"Page size"`
	Offset int `query:"offset" default:"0" minimum:"0" doc:"Items to skip"`
}

type listScheduleMetricsOutput struct {
	TotalCount int               `header:"X-Total-Count" doc:"Number of schedules in all pages"`
	Body       []ScheduleMetrics `nullable:"false"`
}

func (s *Server) systemMetrics(ctx context.Context, _ *struct{}) (*systemMetricsOutput, error) {
	m, err := s.store.SystemMetrics(ctx, s.now())
	if err != nil {
		return nil, s.apiError(ctx, "system metrics", err)
	}
	return &systemMetricsOutput{Body: newSystemMetrics(m)}, nil
}

func (s *Server) scheduleMetrics(ctx context.Context, in *listScheduleMetricsInput) (*listScheduleMetricsOutput, error) {
	ms, total, err := s.store.ScheduleMetrics(ctx, apicron.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, s.apiError(ctx, "schedule metrics", err)
	}
	out := &listScheduleMetricsOutput{TotalCount: total, Body: make([]ScheduleMetrics, 0, len(ms))}
	for _, m := range ms {
		out.Body = append(out.Body, newScheduleMetrics(m))
	}
	return out, nil
}
