package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

func newTargetsCmd(c *cli) *cobra.Command {
	k := &kind[apiclient.Target]{
		plural: "targets", singular: "target",
		all: func(ctx context.Context, cl *apiclient.Client) ([]apiclient.Target, error) { return cl.AllTargets(ctx) },
		list: func(ctx context.Context, cl *apiclient.Client, _ *cobra.Command, p apiclient.Page) ([]apiclient.Target, int, error) {
			return cl.ListTargets(ctx, p)
		},
		get: func(ctx context.Context, cl *apiclient.Client, id int64) (*apiclient.Target, error) {
			return cl.GetTarget(ctx, id)
		},
		create: func(ctx context.Context, cl *apiclient.Client, body map[string]any) (*apiclient.Target, error) {
			return cl.CreateTargetRaw(ctx, body)
		},
		update: func(ctx context.Context, cl *apiclient.Client, id int64, body map[string]any) (*apiclient.Target, error) {
			return cl.UpdateTargetRaw(ctx, id, body)
		},
		del:    func(ctx context.Context, cl *apiclient.Client, id int64) error { return cl.DeleteTarget(ctx, id) },
		id:     func(t apiclient.Target) int64 { return t.ID },
		name:   func(t apiclient.Target) string { return t.Name },
		header: []string{"ID", "NAME", "METHOD", "URL", "TIMEOUT", "RETRIES"},
		row: func(t apiclient.Target) []string {
			return []string{strconv.FormatInt(t.ID, 10), t.Name, t.Method, t.URL, str(t.TimeoutSeconds), str(t.MaxRetries)}
		},
		bodyFlags: func(cmd *cobra.Command) func() (map[string]any, error) {
			s := &setFlags{cmd: cmd}
			s.str("name", "name", "the target's name")
			s.str("url", "url", "the URL to call")
			s.str("method", "method", "the HTTP method (default GET)")
			s.pairs("header", "headers", "a header NAME=VALUE (repeat it; replaces all headers)")
			s.str("body", "body_template", "the body template")
			s.float("timeout", "timeout_seconds", "per-attempt timeout in seconds")
			s.integer("max-retries", "max_retries", "retries after a failed attempt")
			return s.read
		},
		example: `  apicron targets create --name httpbin --url https://httpbin.org/get
  apicron targets create -f target.yaml`,
	}
	return groupCmd("targets", "list, get, create, update and delete targets", resourceCmds(c, k)...)
}
