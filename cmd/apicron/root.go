package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/apicron/apicron"
	apiclient "github.com/apicron/apicron/client"
	"github.com/apicron/apicron/internal/config"
)

// The exit codes scripts can test (docs/cli.md): 0 done, 1 any other
// error, 2 a usage error (an unknown command or flag, a missing argument),
// 3 not found (the API's 404), 4 refused as invalid or in conflict (the
// API's 422, 409, 400, 413 and 415, an apply file that does not parse or
// names an object ambiguously).
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
	exitRefused  = 4
)

// usageError is a command line that does not make sense: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// refusedError is input that cannot be applied as it is (an apply file
// that does not parse, a name that matches two objects): exit code 4, as
// the API's own refusals.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

func refusedf(format string, a ...any) error { return &refusedError{fmt.Errorf(format, a...)} }

// exitCode is the process's exit code for run's error.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var u *usageError
	var r *refusedError
	switch {
	case errors.As(err, &u):
		return exitUsage
	case errors.As(err, &r):
		return exitRefused
	}
	switch apiclient.StatusOf(err) {
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusUnprocessableEntity, http.StatusConflict, http.StatusBadRequest,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return exitRefused
	}
	return exitError
}

// cli is what every command reads from outside the process.
type cli struct {
	getenv         func(string) string
	dir            string
	stdout, stderr io.Writer

	// The client commands' flags, on the root command.
	server, token, output string
	// pollInterval is how often runs tail asks for new runs.
	pollInterval time.Duration
}

// client returns the API client the flags and the environment describe:
// --server, else APICRON_URL, else http://localhost:8000; --token, else
// APICRON_TOKEN.
func (c *cli) client() *apiclient.Client {
	server := c.server
	if server == "" {
		server = c.getenv("APICRON_URL")
	}
	token := c.token
	if token == "" {
		token = c.getenv("APICRON_TOKEN")
	}
	return apiclient.New(server, apiclient.WithToken(token), apiclient.WithUserAgent("apicron-cli/"+apicron.Version))
}

// settingsCommands read the server's settings with config.Load: their flags
// are the settings' flags, which cobra does not parse.
var settingsCommands = []string{"serve", "version", "openapi", "backup", "migrate", "config"}

// newRoot builds the command tree. apicron with no command is apicron
// serve; serve, version, openapi and help keep the settings' own parsing
// (config.Load), so every setting flag works before or after them as it
// always has; the other commands are cobra's.
func newRoot(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "apicron",
		Short: "cron for API calls",
		// The flags of the default command, serve, are the settings'.
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		SilenceErrors:      true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSettings(cmd.Context(), args, c)
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&c.server, "server", "", "the apicron server's URL (default $APICRON_URL, else "+apiclient.DefaultURL+")")
	pf.StringVar(&c.token, "token", "", "the API token to send (default $APICRON_TOKEN)")
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table, json or yaml")

	for _, name := range settingsCommands {
		root.AddCommand(&cobra.Command{
			Use:                name,
			Short:              settingsShort[name],
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runSettings(cmd.Context(), append([]string{name}, args...), c)
			},
		})
	}
	root.AddCommand(&cobra.Command{
		Use:                "echo",
		Short:              "run a target to try schedules on, on 127.0.0.1:9000",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEcho(cmd.Context(), args, c.stdout)
		},
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "print the help of apicron or of a command",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				usage(c.stdout)
				return flag.ErrHelp
			}
			sub, _, err := root.Find(args)
			if err != nil || sub == root {
				return usageErrorf("unknown command %q (see apicron help)", strings.Join(args, " "))
			}
			if slices.Contains(settingsCommands, sub.Name()) {
				usage(c.stdout)
				return flag.ErrHelp
			}
			return sub.Help()
		},
	})

	// The client commands: one file each.
	root.AddCommand(
		newTargetsCmd(c),
		newSchedulesCmd(c),
		newRunsCmd(c),
		newNotifiersCmd(c),
		newStatusCmd(c),
		newApplyCmd(c),
		newExportCmd(c),
	)
	return root
}

var settingsShort = map[string]string{
	"serve":   "run the API and the scheduler (the default command)",
	"version": "print the version",
	"openapi": "print the REST API's OpenAPI document",
	"backup":  "copy the SQLite database to a new file while apicron runs (backup --to FILE)",
	"migrate": "list the database's applied and pending migrations; migrate up applies them",
	"config":  "validate the settings as serve would and print them (config check [--ping])",
}

// run is the whole program: it runs the command args name (serve by
// default) until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, dir string, stdout, stderr io.Writer) error {
	c := &cli{getenv: getenv, dir: dir, stdout: stdout, stderr: stderr, pollInterval: 2 * time.Second}
	root := newRoot(c)
	// A nil slice would make cobra read os.Args.
	root.SetArgs(append([]string{}, commandFirst(root, args)...))
	return root.ExecuteContext(ctx)
}

// commandFirst moves a command named after settings flags to the front
// ("--port 9 version" is "version --port 9"): config.Command knows which of
// those flags take a value, which cobra, not parsing them, cannot tell.
func commandFirst(root *cobra.Command, args []string) []string {
	name, rest := config.Command(args)
	if name == "" || (len(args) > 0 && args[0] == name) {
		return args
	}
	known := name == "help" || name == "completion" || strings.HasPrefix(name, "__complete")
	for _, sub := range root.Commands() {
		known = known || sub.Name() == name || slices.Contains(sub.Aliases, name)
	}
	if !known {
		return args
	}
	return append([]string{name}, rest...)
}

// groupCmd is a command that only holds others: run alone it prints its
// help, and with an unknown subcommand it is a usage error.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %s (see %s --help)", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with a usage error.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("%s takes %s (see %s --help)", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}

// noArgs is cobra.NoArgs with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no argument, not %q (see %s --help)", cmd.CommandPath(), args[0], cmd.CommandPath())
	}
	return nil
}
