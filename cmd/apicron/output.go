package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// table is rows of cells under a header, for people.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// print writes v as the --output flag asks: json or yaml as the API's JSON
// (snake_case, every field), else the table tab makes of it.
func (c *cli) print(v any, tab func() *table) error {
	switch c.output {
	case "json":
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := toYAML(v)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(b)
		return err
	case "table", "":
		return tab().write(c.stdout)
	}
	return usageErrorf("-o %q: the formats are table, json and yaml", c.output)
}

// checkOutput refuses an unknown --output before a command does anything.
func (c *cli) checkOutput() error {
	switch c.output {
	case "json", "yaml", "table", "":
		return nil
	}
	return usageErrorf("-o %q: the formats are table, json and yaml", c.output)
}

// toYAML writes v's JSON encoding as YAML, keys in the JSON's order (the
// DTOs' field order), so YAML output has the API's names and layout.
func toYAML(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	plainStyle(&n)
	var sb strings.Builder
	enc := yaml.NewEncoder(&sb)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

// plainStyle drops the JSON flow style and quoting that parsing JSON leaves
// on n, so it is written as block YAML (quoted only where YAML needs it).
func plainStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		n.Style = 0
		if strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		}
	}
	for _, c := range n.Content {
		plainStyle(c)
	}
}

// str formats an optional value for a table cell: "-" for none.
func str[T any](p *T) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

// orDash is s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
