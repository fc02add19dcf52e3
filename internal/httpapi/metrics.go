package httpapi

import (
	"context"
)

type systemMetricsOutput struct {
	Body SystemMetrics
}

type listScheduleMetricsInput struct {
	Paging
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
	ms, total, err := s.store.ScheduleMetrics(ctx, in.Paging.page())
	if err != nil {
		return nil, s.apiError(ctx, "schedule metrics", err)
	}
	out := &listScheduleMetricsOutput{TotalCount: total, Body: make([]ScheduleMetrics, 0, len(ms))}
	for _, m := range ms {
		out.Body = append(out.Body, newScheduleMetrics(m))
	}
	return out, nil
}
