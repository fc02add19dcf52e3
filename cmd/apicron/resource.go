package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	apiclient "github.com/apicron/apicron/client"
)

// kind describes one resource of the API for the list, get, create,
// update and delete commands that resourceCmds makes for it.
type kind[T any] struct {
	plural, singular string
	all              func(ctx context.Context, cl *apiclient.Client) ([]T, error)
	list             func(ctx context.Context, cl *apiclient.Client, cmd *cobra.Command, p apiclient.Page) ([]T, int, error)
	get              func(ctx context.Context, cl *apiclient.Client, id int64) (*T, error)
	create           func(ctx context.Context, cl *apiclient.Client, body map[string]any) (*T, error)
	update           func(ctx context.Context, cl *apiclient.Client, id int64, body map[string]any) (*T, error)
	del              func(ctx context.Context, cl *apiclient.Client, id int64) error
	id               func(T) int64
	name             func(T) string
	// header and row make the table.
	header []string
	row    func(T) []string
	// bodyFlags adds the flags of the common fields to create and update,
	// and returns a func reading those set into a body.
	bodyFlags func(cmd *cobra.Command) func() (map[string]any, error)
	// listFlags adds filters to list.
	listFlags func(cmd *cobra.Command)
	example   string
}

func (k *kind[T]) table(items ...T) *table {
	t := &table{header: k.header}
	for _, it := range items {
		t.add(k.row(it)...)
	}
	return t
}

// resolve turns an argument into an id: a number is one, anything else
// is a name, which must name exactly one object.
func (k *kind[T]) resolve(ctx context.Context, cl *apiclient.Client, arg string) (int64, error) {
	if id, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return id, nil
	}
	items, err := k.all(ctx, cl)
	if err != nil {
		return 0, err
	}
	var ids []string
	var id int64
	for _, it := range items {
		if k.name(it) == arg {
			id = k.id(it)
			ids = append(ids, strconv.FormatInt(id, 10))
		}
	}
	switch len(ids) {
	case 0:
		return 0, &apiclient.Error{StatusCode: http.StatusNotFound, Problem: apiclient.Problem{Detail: fmt.Sprintf("no %s is named %q", k.singular, arg)}}
	case 1:
		return id, nil
	}
	return 0, refusedf("%d %s are named %q (ids %s): give an id", len(ids), k.plural, arg, strings.Join(ids, ", "))
}

// resourceCmds makes list, get, create, update and delete for k.
func resourceCmds[T any](c *cli, k *kind[T]) []*cobra.Command {
	var limit, offset int
	list := &cobra.Command{
		Use:   "list",
		Short: "list " + k.plural,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.checkOutput(); err != nil {
				return err
			}
			items, total, err := k.list(cmd.Context(), c.client(), cmd, apiclient.Page{Limit: limit, Offset: offset})
			if err != nil {
				return err
			}
			if err := c.print(items, func() *table { return k.table(items...) }); err != nil {
				return err
			}
			if c.output == "table" && total > offset+len(items) {
				fmt.Fprintf(c.stderr, "%d of %d %s shown: --offset %d for the next page\n", len(items), total, k.plural, offset+len(items))
			}
			return nil
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "page size (at most 1000)")
	list.Flags().IntVar(&offset, "offset", 0, "items to skip")
	if k.listFlags != nil {
		k.listFlags(list)
	}

	get := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "show one " + k.singular,
		Args:  exactArgs(1, "one id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resolved(c, cmd, k, args[0], func(ctx context.Context, cl *apiclient.Client, id int64) error {
				it, err := k.get(ctx, cl, id)
				if err != nil {
					return err
				}
				return c.print(it, func() *table { return k.table(*it) })
			})
		},
	}

	var createFile string
	create := &cobra.Command{
		Use:     "create [-f FILE] [flags]",
		Short:   "create a " + k.singular + " from a JSON or YAML file (the API's body) and flags",
		Args:    noArgs,
		Example: k.example,
	}
	createBody := k.bodyFlags(create)
	create.Flags().StringVarP(&createFile, "file", "f", "", "a JSON or YAML file with the body (the API's fields; ${VAR} is read from the environment)")
	create.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := c.checkOutput(); err != nil {
			return err
		}
		body, err := c.body(createFile, createBody)
		if err != nil {
			return err
		}
		it, err := k.create(cmd.Context(), c.client(), body)
		if err != nil {
			return err
		}
		return c.print(it, func() *table { return k.table(*it) })
	}

	var updateFile string
	update := &cobra.Command{
		Use:   "update ID|NAME [-f FILE] [flags]",
		Short: "change the fields of a " + k.singular + " the file and flags set",
		Args:  exactArgs(1, "one id or name"),
	}
	updateBody := k.bodyFlags(update)
	update.Flags().StringVarP(&updateFile, "file", "f", "", "a JSON or YAML file with the fields to change (null: back to the default)")
	update.RunE = func(cmd *cobra.Command, args []string) error {
		if err := c.checkOutput(); err != nil {
			return err
		}
		body, err := c.body(updateFile, updateBody)
		if err != nil {
			return err
		}
		if len(body) == 0 {
			return usageErrorf("%s: nothing to change: give -f FILE or a field's flag", cmd.CommandPath())
		}
		cl := c.client()
		id, err := k.resolve(cmd.Context(), cl, args[0])
		if err != nil {
			return err
		}
		it, err := k.update(cmd.Context(), cl, id, body)
		if err != nil {
			return err
		}
		return c.print(it, func() *table { return k.table(*it) })
	}

	del := &cobra.Command{
		Use:   "delete ID|NAME...",
		Short: "delete " + k.plural,
		Args:  minArgs(1, "at least one id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl := c.client()
			for _, a := range args {
				id, err := k.resolve(cmd.Context(), cl, a)
				if err != nil {
					return err
				}
				if err := k.del(cmd.Context(), cl, id); err != nil {
					return fmt.Errorf("delete %s %d: %w", k.singular, id, err)
				}
				fmt.Fprintf(c.stdout, "deleted %s %d\n", k.singular, id)
			}
			return nil
		},
	}
	return []*cobra.Command{list, get, create, update, del}
}

// body reads a create or update body: the file's fields (if any), then the
// flags set, which win.
func (c *cli) body(file string, flags func() (map[string]any, error)) (map[string]any, error) {
	body := map[string]any{}
	if file != "" {
		m, err := readObjectFile(file, c.getenv)
		if err != nil {
			return nil, err
		}
		body = m
	}
	set, err := flags()
	if err != nil {
		return nil, err
	}
	for k, v := range set {
		body[k] = v
	}
	return body, nil
}

// setFlags collects the flags of cmd that were given, each under its JSON
// name, converted by conv.
type setFlags struct {
	cmd    *cobra.Command
	fields []func(map[string]any) error
}

func (s *setFlags) str(flag, field, usage string) {
	v := s.cmd.Flags().String(flag, "", usage)
	s.fields = append(s.fields, func(m map[string]any) error {
		if s.cmd.Flags().Changed(flag) {
			m[field] = *v
		}
		return nil
	})
}

func (s *setFlags) integer(flag, field, usage string) {
	v := s.cmd.Flags().Int64(flag, 0, usage)
	s.fields = append(s.fields, func(m map[string]any) error {
		if s.cmd.Flags().Changed(flag) {
			m[field] = *v
		}
		return nil
	})
}

func (s *setFlags) float(flag, field, usage string) {
	v := s.cmd.Flags().Float64(flag, 0, usage)
	s.fields = append(s.fields, func(m map[string]any) error {
		if s.cmd.Flags().Changed(flag) {
			m[field] = *v
		}
		return nil
	})
}

// pairs is a repeatable NAME=VALUE flag that sets a map field.
func (s *setFlags) pairs(flag, field, usage string) {
	v := s.cmd.Flags().StringArray(flag, nil, usage)
	s.fields = append(s.fields, func(m map[string]any) error {
		if !s.cmd.Flags().Changed(flag) {
			return nil
		}
		out := map[string]any{}
		for _, p := range *v {
			k, val, ok := strings.Cut(p, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return usageErrorf("--%s %q: want NAME=VALUE", flag, p)
			}
			out[strings.TrimSpace(k)] = val
		}
		m[field] = out
		return nil
	})
}

func (s *setFlags) read() (map[string]any, error) {
	m := map[string]any{}
	for _, f := range s.fields {
		if err := f(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// resolved checks the output format and resolves arg, an id or a name of
// k, for a command that acts on one: fn gets the client and the id.
func resolved[T any](c *cli, cmd *cobra.Command, k *kind[T], arg string, fn func(ctx context.Context, cl *apiclient.Client, id int64) error) error {
	if err := c.checkOutput(); err != nil {
		return err
	}
	cl := c.client()
	id, err := k.resolve(cmd.Context(), cl, arg)
	if err != nil {
		return err
	}
	return fn(cmd.Context(), cl, id)
}
