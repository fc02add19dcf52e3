package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

func newSchedulesCmd(c *cli) *cobra.Command {
	k := &kind[apiclient.Schedule]{
		plural: "schedules", singular: "schedule",
		all: func(ctx context.Context, cl *apiclient.Client) ([]apiclient.Schedule, error) {
			return cl.AllSchedules(ctx)
		},
		list: func(ctx context.Context, cl *apiclient.Client, cmd *cobra.Command, p apiclient.Page) ([]apiclient.Schedule, int, error) {
			status, _ := cmd.Flags().GetString("status")
			target, _ := cmd.Flags().GetInt64("target-id")
			return cl.ListSchedules(ctx, apiclient.ScheduleFilter{Page: p, Status: status, TargetID: target})
		},
		listFlags: func(cmd *cobra.Command) {
			cmd.Flags().String("status", "", "only schedules in this status: ACTIVE, PAUSED or STOPPED")
			cmd.Flags().Int64("target-id", 0, "only schedules of this target")
		},
		get: func(ctx context.Context, cl *apiclient.Client, id int64) (*apiclient.Schedule, error) {
			return cl.GetSchedule(ctx, id)
		},
		create: func(ctx context.Context, cl *apiclient.Client, body map[string]any) (*apiclient.Schedule, error) {
			return cl.CreateScheduleRaw(ctx, body)
		},
		update: func(ctx context.Context, cl *apiclient.Client, id int64, body map[string]any) (*apiclient.Schedule, error) {
			return cl.UpdateScheduleRaw(ctx, id, body)
		},
		del:    func(ctx context.Context, cl *apiclient.Client, id int64) error { return cl.DeleteSchedule(ctx, id) },
		id:     func(s apiclient.Schedule) int64 { return s.ID },
		name:   func(s apiclient.Schedule) string { return s.Name },
		header: scheduleHeader,
		row:    scheduleRow,
		bodyFlags: func(cmd *cobra.Command) func() (map[string]any, error) {
			s := &setFlags{cmd: cmd}
			s.str("name", "name", "the schedule's name")
			s.integer("target-id", "target_id", "the target it calls")
			s.str("type", "schedule_type", "INTERVAL, WINDOW, CRON or ONCE")
			s.integer("interval", "interval_seconds", "seconds between runs (INTERVAL, WINDOW)")
			s.integer("duration", "duration_seconds", "the window's length in seconds (WINDOW)")
			s.str("cron", "cron_expression", "the cron expression (CRON)")
			s.str("timezone", "timezone", "the IANA zone a cron expression reads")
			s.str("run-at", "run_at", "the one run's time, RFC 3339 (ONCE)")
			return s.read
		},
		example: `  apicron schedules create --name every-30s --target-id 1 --type INTERVAL --interval 30
  apicron schedules create --name weekdays --target-id 1 --type CRON --cron '0 9 * * MON-FRI' --timezone Europe/Paris
  apicron schedules create -f schedule.yaml`,
	}
	cmds := resourceCmds(c, k)

	var reason, until string
	pause := &cobra.Command{
		Use:   "pause ID|NAME",
		Short: "pause a schedule, with an optional reason and automatic resume",
		Args:  exactArgs(1, "one id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body *apiclient.PauseBody
			if reason != "" || until != "" {
				body = &apiclient.PauseBody{Reason: reason}
				if until != "" {
					t, err := time.Parse(time.RFC3339, until)
					if err != nil {
						return usageErrorf("--until %q: want an RFC 3339 time such as 2026-12-01T18:00:00Z", until)
					}
					body.Until = &t
				}
			}
			return c.scheduleAction(cmd, k, args[0], func(ctx context.Context, cl *apiclient.Client, id int64) (*apiclient.Schedule, error) {
				return cl.PauseSchedule(ctx, id, body)
			})
		},
	}
	pause.Flags().StringVar(&reason, "reason", "", "why, shown as pause_reason")
	pause.Flags().StringVar(&until, "until", "", "resume by itself at this RFC 3339 time")

	resume := &cobra.Command{
		Use:   "resume ID|NAME",
		Short: "resume a paused schedule",
		Args:  exactArgs(1, "one id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.scheduleAction(cmd, k, args[0], func(ctx context.Context, cl *apiclient.Client, id int64) (*apiclient.Schedule, error) {
				return cl.ResumeSchedule(ctx, id)
			})
		},
	}

	var force bool
	trigger := &cobra.Command{
		Use:   "trigger ID|NAME",
		Short: "run a schedule now (trigger manual)",
		Args:  exactArgs(1, "one id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resolved(c, cmd, k, args[0], func(ctx context.Context, cl *apiclient.Client, id int64) error {
				r, err := cl.TriggerSchedule(ctx, id, force)
				if err != nil {
					return err
				}
				return c.print(r, func() *table {
					t := &table{header: []string{"RUN_ID", "SCHEDULE_ID", "SCHEDULED_AT", "TRIGGER", "FORCED"}}
					t.add(strconv.FormatInt(r.RunID, 10), strconv.FormatInt(r.ScheduleID, 10), r.ScheduledAt, r.Trigger, strconv.FormatBool(r.Forced))
					return t
				})
			})
		},
	}
	trigger.Flags().BoolVar(&force, "force", false, "run even when a run of it is in flight")

	var n int
	preview := &cobra.Command{
		Use:   "preview ID|NAME",
		Short: "the next occurrences of a schedule, in UTC and in its zone",
		Args:  exactArgs(1, "one id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resolved(c, cmd, k, args[0], func(ctx context.Context, cl *apiclient.Client, id int64) error {
				p, err := cl.PreviewSchedule(ctx, id, n)
				if err != nil {
					return err
				}
				return c.print(p, func() *table {
					t := &table{header: []string{"AT", "FIRE_AT", "LOCAL", "ZONE", "DST"}}
					for _, o := range p.Occurrences {
						t.add(o.At, o.FireAt, o.Local, o.Zone, str(o.DSTRule))
					}
					return t
				})
			})
		},
	}
	preview.Flags().IntVarP(&n, "count", "n", 10, "how many occurrences (at most 100)")

	cmds = append(cmds, pause, resume, trigger, preview)
	return groupCmd("schedules", "list, get, create, update, delete, pause, resume, trigger and preview schedules", cmds...)
}

var scheduleHeader = []string{"ID", "NAME", "TARGET", "TYPE", "EVERY", "STATUS", "NEXT_RUN_AT"}

func scheduleRow(s apiclient.Schedule) []string {
	every := "-"
	switch {
	case s.IntervalSeconds != nil:
		every = fmt.Sprintf("%ds", *s.IntervalSeconds)
	case s.CronExpression != nil:
		every = *s.CronExpression
	case s.RunAt != nil:
		every = "once " + *s.RunAt
	}
	return []string{strconv.FormatInt(s.ID, 10), s.Name, strconv.FormatInt(s.TargetID, 10), s.ScheduleType, every, s.Status, str(s.NextRunAt)}
}

// scheduleAction resolves arg and prints the schedule do returns.
func (c *cli) scheduleAction(cmd *cobra.Command, k *kind[apiclient.Schedule], arg string, do func(context.Context, *apiclient.Client, int64) (*apiclient.Schedule, error)) error {
	return resolved(c, cmd, k, arg, func(ctx context.Context, cl *apiclient.Client, id int64) error {
		s, err := do(ctx, cl, id)
		if err != nil {
			return err
		}
		return c.print(s, func() *table { return k.table(*s) })
	})
}
