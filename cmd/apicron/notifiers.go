package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

func newNotifiersCmd(c *cli) *cobra.Command {
	k := &kind[apiclient.Notifier]{
		plural: "notifiers", singular: "notifier",
		all: func(ctx context.Context, cl *apiclient.Client) ([]apiclient.Notifier, error) {
			return cl.AllNotifiers(ctx)
		},
		list: func(ctx context.Context, cl *apiclient.Client, _ *cobra.Command, p apiclient.Page) ([]apiclient.Notifier, int, error) {
			return cl.ListNotifiers(ctx, p)
		},
		get: func(ctx context.Context, cl *apiclient.Client, id int64) (*apiclient.Notifier, error) {
			return cl.GetNotifier(ctx, id)
		},
		create: func(ctx context.Context, cl *apiclient.Client, body map[string]any) (*apiclient.Notifier, error) {
			return cl.CreateNotifierRaw(ctx, body)
		},
		update: func(ctx context.Context, cl *apiclient.Client, id int64, body map[string]any) (*apiclient.Notifier, error) {
			return cl.UpdateNotifierRaw(ctx, id, body)
		},
		del:    func(ctx context.Context, cl *apiclient.Client, id int64) error { return cl.DeleteNotifier(ctx, id) },
		id:     func(n apiclient.Notifier) int64 { return n.ID },
		name:   func(n apiclient.Notifier) string { return n.Name },
		header: []string{"ID", "NAME", "TYPE", "URL", "LAST_STATUS", "LAST_ERROR"},
		row: func(n apiclient.Notifier) []string {
			return []string{strconv.FormatInt(n.ID, 10), n.Name, n.Type, str(n.URL), str(n.LastStatus), str(n.LastError)}
		},
		bodyFlags: func(cmd *cobra.Command) func() (map[string]any, error) {
			s := &setFlags{cmd: cmd}
			s.str("name", "name", "the notifier's name (unique)")
			s.str("type", "type", "webhook, slack or email (create only)")
			s.str("url", "url", "where a webhook or slack notifier posts")
			return s.read
		},
		example: `  apicron notifiers create --name ops --type webhook --url https://hooks.example.com/apicron
  apicron notifiers create -f notifier.yaml`,
	}
	return groupCmd("notifiers", "list, get, create, update and delete notifiers", resourceCmds(c, k)...)
}
