package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

// runFilterFlags are the filters of runs list and runs tail.
type runFilterFlags struct {
	schedule, status, trigger string
	target                    int64
}

func (f *runFilterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.schedule, "schedule", "", "only runs of this schedule (id or name)")
	cmd.Flags().Int64Var(&f.target, "target-id", 0, "only runs of this target")
	cmd.Flags().StringVar(&f.status, "status", "", "only runs with this status: SUCCESS, FAILED, TIMEOUT, DNS_ERROR, CONNECTION_ERROR, INTERRUPTED, RUNNING")
	cmd.Flags().StringVar(&f.trigger, "trigger", "", "only runs started this way: schedule, manual, backfill, catch_up")
}

func (f *runFilterFlags) filter(ctx context.Context, cl *apiclient.Client) (apiclient.RunFilter, error) {
	rf := apiclient.RunFilter{TargetID: f.target, Status: f.status, Trigger: f.trigger}
	if f.schedule != "" {
		id, err := scheduleKind().resolve(ctx, cl, f.schedule)
		if err != nil {
			return rf, err
		}
		rf.ScheduleID = id
	}
	return rf, nil
}

// scheduleKind is enough of the schedules' kind to resolve a name.
func scheduleKind() *kind[apiclient.Schedule] {
	return &kind[apiclient.Schedule]{plural: "schedules", singular: "schedule",
		all: func(ctx context.Context, cl *apiclient.Client) ([]apiclient.Schedule, error) {
			return cl.AllSchedules(ctx)
		},
		id:   func(s apiclient.Schedule) int64 { return s.ID },
		name: func(s apiclient.Schedule) string { return s.Name }}
}

var runHeader = []string{"ID", "SCHEDULE", "STATUS", "CODE", "LATENCY_MS", "SCHEDULED_AT", "TRIGGER", "ERROR"}

func runRow(r apiclient.Run) []string {
	errText := "-"
	if r.ErrorType != nil {
		errText = *r.ErrorType
	}
	return []string{strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.ScheduleID, 10), r.Status, str(r.StatusCode),
		str(r.LatencyMs), r.ScheduledAt, r.Trigger, errText}
}

func runsTable(runs ...apiclient.Run) *table {
	t := &table{header: runHeader}
	for _, r := range runs {
		t.add(runRow(r)...)
	}
	return t
}

func newRunsCmd(c *cli) *cobra.Command {
	var lf runFilterFlags
	var limit int
	var cursor, since, until string
	list := &cobra.Command{
		Use:   "list",
		Short: "list runs, newest first",
		Args:  noArgs,
		Example: `  apicron runs list --schedule every-30-seconds --status FAILED --limit 20
  apicron runs list --since 2026-12-01T00:00:00Z -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			cl := c.client()
			f, err := lf.filter(cmd.Context(), cl)
			if err != nil {
				return err
			}
			f.Limit, f.Cursor = limit, cursor
			for flag, v := range map[string]string{"since": since, "until": until} {
				if v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return usageErrorf("--%s %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z", flag, v)
				}
				if flag == "since" {
					f.Since = t
				} else {
					f.Until = t
				}
			}
			page, err := cl.ListRuns(cmd.Context(), f)
			if err != nil {
				return err
			}
			if err := c.print(page.Runs, func() *table { return runsTable(page.Runs...) }); err != nil {
				return err
			}
			if page.NextCursor != "" && c.output == "table" {
				fmt.Fprintf(c.stderr, "more runs: --cursor %s for the next page\n", page.NextCursor)
			}
			return nil
		},
	}
	lf.add(list)
	list.Flags().IntVar(&limit, "limit", 100, "page size (at most 1000)")
	list.Flags().StringVar(&cursor, "cursor", "", "continue after the page that printed this cursor")
	list.Flags().StringVar(&since, "since", "", "only runs scheduled at or after this RFC 3339 time")
	list.Flags().StringVar(&until, "until", "", "only runs scheduled before this RFC 3339 time")

	get := &cobra.Command{
		Use:   "get ID",
		Short: "show a run with its attempts",
		Args:  exactArgs(1, "one run id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErrorf("run id %q: want a number", args[0])
			}
			r, err := c.client().GetRun(cmd.Context(), id)
			if err != nil {
				return err
			}
			return c.print(r, func() *table { return runsTable(r.Run) })
		},
	}

	var tf runFilterFlags
	var count int
	tail := &cobra.Command{
		Use:   "tail",
		Short: "print runs as they finish, until Ctrl-C",
		Long: "tail prints the last few finished runs, then each run as it finishes, polling the server every " +
			"--interval. It stops on Ctrl-C (exit code 0), or after --count runs.",
		Args:    noArgs,
		Example: `  apicron runs tail --schedule every-30-seconds`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			cl := c.client()
			f, err := tf.filter(cmd.Context(), cl)
			if err != nil {
				return err
			}
			return c.tail(cmd.Context(), cl, f, count)
		},
	}
	tf.add(tail)
	tail.Flags().DurationVar(&c.pollInterval, "interval", 2*time.Second, "how often to ask the server")
	tail.Flags().IntVar(&count, "count", 0, "stop after printing this many new runs (0: never)")

	return groupCmd("runs", "list, get and tail runs", list, get, tail)
}

// tailBacklog is how many finished runs tail prints before following.
const tailBacklog = 10

// tail prints the newest tailBacklog finished runs, oldest first, and then
// each new one once it finishes, until ctx ends or count new ones were
// printed. Each poll reads the newest runs down to floor, the id at and
// below which every run is handled (printed, or finished before tail
// began); floor stays below the oldest run still RUNNING, so a run is
// printed once, when it is done.
func (c *cli) tail(ctx context.Context, cl *apiclient.Client, f apiclient.RunFilter, count int) error {
	f.Limit = 100
	handled := map[int64]bool{}
	var floor int64
	header := true
	newRuns := 0
	for first := true; ; first = false {
		runs, err := newestRuns(ctx, cl, f, floor)
		if ctx.Err() != nil {
			return nil // Ctrl-C
		}
		if err != nil {
			return err
		}
		var done []apiclient.Run
		for _, r := range runs {
			if r.ID > floor && !handled[r.ID] && r.Status != "RUNNING" {
				done = append(done, r)
				handled[r.ID] = true
			}
		}
		slices.SortFunc(done, func(a, b apiclient.Run) int { return cmp.Compare(a.ID, b.ID) })
		if first && len(done) > tailBacklog {
			done = done[len(done)-tailBacklog:]
		}
		for _, r := range done {
			if err := c.printRun(r, header); err != nil {
				return err
			}
			header = false
			if !first {
				if newRuns++; count > 0 && newRuns >= count {
					return nil
				}
			}
		}
		floor = nextFloor(runs, handled, floor)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.pollInterval):
		}
	}
}

// newestRuns reads the newest runs matching f down to floor: a page, and
// more pages while the last one's oldest run is above floor (0: one page).
func newestRuns(ctx context.Context, cl *apiclient.Client, f apiclient.RunFilter, floor int64) ([]apiclient.Run, error) {
	var out []apiclient.Run
	for range 20 { // at most 2,000 runs a poll
		page, err := cl.ListRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Runs...)
		if page.NextCursor == "" || floor == 0 || len(page.Runs) == 0 || page.Runs[len(page.Runs)-1].ID <= floor {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
	return out, errors.New("more than 2,000 new runs between two polls: narrow the filter or lower --interval")
}

// nextFloor is just below the oldest run above floor not yet handled (one
// still RUNNING), else the newest run's id; handled forgets what it passes.
func nextFloor(runs []apiclient.Run, handled map[int64]bool, floor int64) int64 {
	next := floor
	lowestOpen := int64(-1)
	for _, r := range runs {
		if r.ID <= floor {
			continue
		}
		next = max(next, r.ID)
		if !handled[r.ID] && (lowestOpen < 0 || r.ID < lowestOpen) {
			lowestOpen = r.ID
		}
	}
	if lowestOpen >= 0 {
		next = lowestOpen - 1
	}
	for id := range handled {
		if id <= next {
			delete(handled, id)
		}
	}
	return max(next, floor)
}

// tailFormat lays out a row of tail's table; rows are written as they come,
// so the widths are fixed rather than measured.
const tailFormat = "%-8s %-8s %-16s %-4s %-10s %-24s %-8s %s\n"

// printRun writes one run of tail: a table row (after the header, once), a
// line of JSON, or a YAML document.
func (c *cli) printRun(r apiclient.Run, header bool) error {
	switch c.output {
	case "json":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	case "yaml":
		b, err := toYAML(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "---\n%s", b)
		return err
	}
	if header {
		fmt.Fprintf(c.stdout, tailFormat, toAny(runHeader)...)
	}
	_, err := fmt.Fprintf(c.stdout, tailFormat, toAny(runRow(r))...)
	return err
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
