package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/apicron/apicron"
	"github.com/danielgtaylor/huma/v2"
)

type createScheduleInput struct {
	RawBody []byte
	Body    ScheduleCreate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *createScheduleInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type updateScheduleInput struct {
	ID      int64 `path:"id" doc:"Resource id"`
	RawBody []byte
	Body    ScheduleUpdate
}

// Resolve refuses a body that is not valid UTF-8.
func (in *updateScheduleInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

type scheduleOutput struct {
	Body Schedule
}

type listSchedulesInput struct {
	Paging
	Status   string `query:"status" enum:"ACTIVE,PAUSED,STOPPED" doc:"Only schedules in this status"`
	TargetID int64  `query:"target_id" minimum:"1" doc:"Only schedules of this target"`
}

type listSchedulesOutput struct {
	TotalCount int        `header:"X-Total-Count" doc:"Number of matching schedules in all pages"`
	Body       []Schedule `nullable:"false"`
}

// newScheduleFrom converts a create body, the service's default zone
// filling an absent timezone, and validates it.
func (s *Server) newScheduleFrom(b ScheduleCreate) (*apicron.Schedule, error) {
	sc := &apicron.Schedule{
		Name:            b.Name,
		TargetID:        b.TargetID,
		Type:            apicron.ScheduleType(b.ScheduleType),
		DurationSeconds: b.DurationSeconds,
		KeepRuns:        b.KeepRuns,
		Timezone:        s.defaultTimezone,
	}
	if b.IntervalSeconds != nil {
		sc.IntervalSeconds = *b.IntervalSeconds
	}
	if b.CronExpression != nil {
		sc.CronExpression = *b.CronExpression
	}
	if b.Timezone != nil {
		sc.Timezone = *b.Timezone
	}
	t := b.ScheduleOptions
	sc.RunAt, sc.StartAt, sc.EndAt = t.RunAt, t.StartAt, t.EndAt
	sc.MaxRuns, sc.MisfireGraceSeconds = t.MaxRuns, t.MisfireGrace
	sc.MaxParallel, sc.CatchUpMax = t.MaxParallel, t.CatchUpMax
	if t.OverlapPolicy != nil {
		sc.OverlapPolicy = apicron.OverlapPolicy(*t.OverlapPolicy)
	}
	if t.MisfirePolicy != nil {
		sc.MisfirePolicy = apicron.MisfirePolicy(*t.MisfirePolicy)
	}
	if t.Assertions != nil {
		list, err := s.checkAssertions("assertions", *t.Assertions)
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = []apicron.Assertion{}
		}
		sc.Assertions = &list
	}
	if t.JitterSeconds != nil {
		sc.JitterSeconds = *t.JitterSeconds
	}
	if t.Alert != nil {
		sc.Alert = t.Alert.rule()
	}
	sc.AutoPauseAfter = t.AutoPauseAfter
	if t.RetryInterrupted != nil {
		sc.RetryInterrupted = *t.RetryInterrupted
	}
	if (sc.Type == apicron.Interval || sc.Type == apicron.Window) && b.IntervalSeconds == nil {
		return nil, apicron.Invalid("interval_seconds", "is required for %s schedules", sc.Type)
	}
	return sc, sc.Validate()
}

func (s *Server) createSchedule(ctx context.Context, in *createScheduleInput) (*scheduleOutput, error) {
	sc, err := s.newScheduleFrom(in.Body)
	if err != nil {
		return nil, s.apiError(ctx, "create schedule", err)
	}
	if err := s.store.CreateSchedule(ctx, sc); err != nil {
		return nil, s.apiError(ctx, "create schedule", err)
	}
	s.notify(sc.ID)
	return &scheduleOutput{Body: newSchedule(sc)}, nil
}

func (s *Server) getSchedule(ctx context.Context, in *idPath) (*scheduleOutput, error) {
	sc, err := s.store.FindScheduleByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "get schedule", err)
	}
	out := newSchedule(sc)
	bf, err := s.store.FindBackfills(ctx, sc.ID, 1)
	if err != nil {
		return nil, s.apiError(ctx, "get schedule", err)
	}
	if len(bf) == 1 {
		b := newBackfill(bf[0])
		out.Backfill = &b
	}
	st, err := s.store.AlertState(ctx, sc.ID)
	if err != nil {
		return nil, s.apiError(ctx, "get schedule", err)
	}
	out.AlertState = newAlertState(st)
	return &scheduleOutput{Body: out}, nil
}

func (s *Server) listSchedules(ctx context.Context, in *listSchedulesInput) (*listSchedulesOutput, error) {
	f := apicron.ScheduleFilter{Limit: in.Limit, Offset: in.Offset}
	if in.Status != "" {
		st := apicron.ScheduleStatus(in.Status)
		f.Status = &st
	}
	if in.TargetID != 0 {
		f.TargetID = &in.TargetID
	}
	scs, total, err := s.store.FindSchedules(ctx, f)
	if err != nil {
		return nil, s.apiError(ctx, "list schedules", err)
	}
	out := &listSchedulesOutput{TotalCount: total, Body: make([]Schedule, 0, len(scs))}
	for _, sc := range scs {
		out.Body = append(out.Body, newSchedule(sc))
	}
	return out, nil
}

// updateSchedule converts the body; the store applies it in its transaction,
// validates the result, checks that the target exists and replans.
func (s *Server) updateSchedule(ctx context.Context, in *updateScheduleInput) (*scheduleOutput, error) {
	nulls, err := nullFields(in.RawBody, "name", "target_id", "schedule_type", "interval_seconds", "duration_seconds",
		"cron_expression", "timezone", "run_at", "jitter_seconds", "overlap_policy", "misfire_policy")
	if err != nil {
		return nil, s.apiError(ctx, "update schedule", err)
	}
	b := in.Body
	upd := apicron.ScheduleUpdate{
		Name:            b.Name,
		TargetID:        b.TargetID,
		IntervalSeconds: b.IntervalSeconds,
		DurationSeconds: b.DurationSeconds,
		CronExpression:  b.CronExpression,
		Timezone:        b.Timezone,
	}
	if b.ScheduleType != nil {
		t := apicron.ScheduleType(*b.ScheduleType)
		upd.Type = &t
	}
	if b.KeepRuns != nil || nulls["keep_runs"] {
		upd.KeepRuns = &b.KeepRuns // null: back to the service default
	}
	t := b.ScheduleOptions
	upd.RunAt, upd.JitterSeconds = t.RunAt, t.JitterSeconds
	if t.StartAt != nil || nulls["start_at"] {
		upd.StartAt = &t.StartAt
	}
	if t.EndAt != nil || nulls["end_at"] {
		upd.EndAt = &t.EndAt
	}
	if t.MaxRuns != nil || nulls["max_runs"] {
		upd.MaxRuns = &t.MaxRuns
	}
	if t.MisfireGrace != nil || nulls["misfire_grace_seconds"] {
		upd.MisfireGraceSeconds = &t.MisfireGrace
	}
	if t.OverlapPolicy != nil {
		p := apicron.OverlapPolicy(*t.OverlapPolicy)
		upd.OverlapPolicy = &p
	}
	if t.MisfirePolicy != nil {
		p := apicron.MisfirePolicy(*t.MisfirePolicy)
		upd.MisfirePolicy = &p
	}
	if t.MaxParallel != nil || nulls["max_parallel"] {
		upd.MaxParallel = &t.MaxParallel
	}
	if t.CatchUpMax != nil || nulls["catch_up_max"] {
		upd.CatchUpMax = &t.CatchUpMax
	}
	switch {
	case t.Assertions != nil:
		list, err := s.checkAssertions("assertions", *t.Assertions)
		if err != nil {
			return nil, s.apiError(ctx, "update schedule", err)
		}
		if list == nil {
			list = []apicron.Assertion{}
		}
		p := &list
		upd.Assertions = &p
	case nulls["assertions"]:
		var none *[]apicron.Assertion // back to the target's
		upd.Assertions = &none
	}
	if t.Alert != nil || nulls["alert"] {
		var r *apicron.AlertRule // null: back to the default rule
		if t.Alert != nil {
			r = t.Alert.rule()
		}
		upd.Alert = &r
	}
	if t.AutoPauseAfter != nil || nulls["auto_pause_after"] {
		upd.AutoPauseAfter = &t.AutoPauseAfter
	}
	upd.RetryInterrupted = t.RetryInterrupted
	sc, err := s.store.UpdateSchedule(ctx, in.ID, upd)
	if err != nil {
		return nil, s.apiError(ctx, "update schedule", err)
	}
	s.notify(sc.ID)
	return &scheduleOutput{Body: newSchedule(sc)}, nil
}

func (s *Server) deleteSchedule(ctx context.Context, in *idPath) (*struct{}, error) {
	if err := s.store.DeleteSchedule(ctx, in.ID); err != nil {
		return nil, s.apiError(ctx, "delete schedule", err)
	}
	s.notify(in.ID)
	return &struct{}{}, nil
}

// PauseBody is the optional body of POST /schedules/{id}/pause.
type PauseBody struct {
	_      struct{}   `json:"-" additionalProperties:"false"`
	Reason string     `json:"reason,omitempty" maxLength:"500" example:"target under maintenance" doc:"Why; shown on the schedule as pause_reason"`
	Until  *time.Time `json:"until,omitempty" example:"2026-12-01T18:00:00Z" doc:"Resume by itself at this time (in the future), continuing the grid as POST /resume does"`
}

type pauseInput struct {
	ID      int64 `path:"id" doc:"Resource id"`
	RawBody []byte
	Body    *PauseBody
}

// Resolve refuses a body that is not valid UTF-8.
func (in *pauseInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

func (s *Server) pauseSchedule(ctx context.Context, in *pauseInput) (*scheduleOutput, error) {
	var p apicron.PauseRequest
	if in.Body != nil {
		p = apicron.PauseRequest{Reason: strings.TrimSpace(in.Body.Reason), Until: in.Body.Until}
	}
	sc, err := s.store.PauseSchedule(ctx, in.ID, p)
	if err != nil {
		return nil, s.apiError(ctx, "pause schedule", err)
	}
	s.notify(sc.ID)
	return &scheduleOutput{Body: newSchedule(sc)}, nil
}

func (s *Server) resumeSchedule(ctx context.Context, in *idPath) (*scheduleOutput, error) {
	sc, err := s.store.ResumeSchedule(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "resume schedule", err)
	}
	s.notify(sc.ID)
	return &scheduleOutput{Body: newSchedule(sc)}, nil
}

type previewScheduleInput struct {
	ID int64 `path:"id" doc:"Resource id"`
	N  int   `query:"n" minimum:"1" maximum:"100" default:"10" doc:"How many occurrences"`
}

type previewOutput struct {
	Body SchedulePreview
}

// SchedulePreviewRequest is the body of POST /schedules/preview: a schedule
// as POST /schedules takes it, name and target_id optional.
type SchedulePreviewRequest struct {
	_               struct{} `json:"-" additionalProperties:"false"`
	Name            string   `json:"name,omitempty" doc:"Ignored; allowed so that a create body can be previewed as it is"`
	TargetID        int64    `json:"target_id,omitempty" minimum:"1" doc:"Ignored, as name"`
	ScheduleType    string   `json:"schedule_type" enum:"INTERVAL,WINDOW,CRON,ONCE" example:"CRON"`
	IntervalSeconds *int     `json:"interval_seconds,omitempty" minimum:"1"`
	DurationSeconds *int     `json:"duration_seconds,omitempty" nullable:"true" minimum:"1"`
	CronExpression  *string  `json:"cron_expression,omitempty" example:"30 2 * * *"`
	Timezone        *string  `json:"timezone,omitempty" example:"America/New_York"`
	KeepRuns        *int     `json:"keep_runs,omitempty" nullable:"true" minimum:"1" doc:"Ignored, as name"`
	ScheduleOptions
}

type previewBodyInput struct {
	N       int `query:"n" minimum:"1" maximum:"100" default:"10" doc:"How many occurrences"`
	RawBody []byte
	Body    SchedulePreviewRequest
}

// Resolve refuses a body that is not valid UTF-8.
func (in *previewBodyInput) Resolve(huma.Context) []error { return checkUTF8(in.RawBody) }

func (s *Server) previewSchedule(ctx context.Context, in *previewScheduleInput) (*previewOutput, error) {
	sc, err := s.store.FindScheduleByID(ctx, in.ID)
	if err != nil {
		return nil, s.apiError(ctx, "preview schedule", err)
	}
	return &previewOutput{Body: newPreview(sc, sc.Upcoming(s.clock.Now(), in.N))}, nil
}

// previewUnsaved previews a body as if it were created now; nothing is stored.
func (s *Server) previewUnsaved(ctx context.Context, in *previewBodyInput) (*previewOutput, error) {
	b := in.Body
	name, target := b.Name, b.TargetID
	if name == "" {
		name = "preview"
	}
	if target == 0 {
		target = 1
	}
	sc, err := s.newScheduleFrom(ScheduleCreate{Name: name, TargetID: target, ScheduleType: b.ScheduleType,
		IntervalSeconds: b.IntervalSeconds, DurationSeconds: b.DurationSeconds, CronExpression: b.CronExpression,
		Timezone: b.Timezone, ScheduleOptions: b.ScheduleOptions})
	if err != nil {
		return nil, s.apiError(ctx, "preview schedule", err)
	}
	now := s.clock.Now()
	list, err := sc.PreviewNew(now, in.N)
	if err != nil {
		return nil, s.apiError(ctx, "preview schedule", err)
	}
	sc.Activate(now)
	return &previewOutput{Body: newPreview(sc, list)}, nil
}
