package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

// statusReport is what apicron status prints: /health and the counts of /metrics.
type statusReport struct {
	Health  *apiclient.Health        `json:"health"`
	Metrics *apiclient.SystemMetrics `json:"metrics,omitempty"`
}

func newStatusCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "the server's health, version and counts of targets, schedules and runs",
		Long: "status prints GET /health and the counts of GET /metrics. A server that answers /health with 503 " +
			"makes it fail (exit code 1) with the reason.",
		Args:    noArgs,
		Example: "  apicron status --server http://localhost:8000",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			cl := c.client()
			h, err := cl.Health(cmd.Context())
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			m, err := cl.Metrics(cmd.Context())
			if err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			rep := statusReport{Health: h, Metrics: m}
			return c.print(rep, func() *table {
				t := &table{header: []string{"FIELD", "VALUE"}}
				t.add("status", h.Status)
				t.add("version", orDash(h.Version))
				t.add("node", orDash(h.NodeID))
				t.add("role", orDash(h.Role))
				t.add("database", orDash(h.Database))
				if h.Notifiers != nil {
					t.add("notifiers", h.Notifiers.Status)
				}
				t.add("targets", strconv.FormatInt(m.TotalTargets, 10))
				t.add("schedules", strconv.FormatInt(m.TotalSchedules, 10))
				for _, st := range []string{"ACTIVE", "PAUSED", "STOPPED"} {
					t.add("  "+st, strconv.FormatInt(m.SchedulesByStatus[st], 10))
				}
				t.add("runs", strconv.FormatInt(m.TotalRuns, 10))
				t.add("runs last hour", strconv.FormatInt(m.RunsLastHour, 10))
				t.add("running", strconv.FormatInt(m.RunningRuns, 10))
				t.add("success rate", fmt.Sprintf("%.2f%%", m.SuccessRate))
				return t
			})
		},
	}
}
