package apicron_test

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// renderCanary is an environment value no template may ever render:
// templates see TemplateData and nothing else of the process.
const renderCanary = "apicron-fuzz-canary-9f1c3e7a"

// sampleData is the data Validate executes templates with.
var sampleData = apicron.TemplateData{
	ScheduleID: 1, ScheduleName: "sample", TargetID: 1, RunID: 1,
	ScheduledAt: "2000-01-01T00:00:00.000Z", Attempt: 1, Now: "2000-01-01T00:00:00.000Z",
}

// FuzzRenderTemplate feeds ParseTemplate and RenderTemplate arbitrary
// templates and data. Whatever it gets, parsing and rendering must not
// panic; rendering must finish quickly and stay within MaxRenderedBytes
// (a template of a few bytes must not loop, recurse or double a string
// into gigabytes); the same template and data must render the same way,
// through RenderTemplate as through the parsed template the executor runs;
// data must be inserted as it is; nothing but the data may come out (not
// the process's environment); and a header value whose rendering holds CR,
// LF or NUL, or renders past the headers' cap, must be refused when the
// target is saved, as the API promises.
func FuzzRenderTemplate(f *testing.F) {
	f.Setenv("APICRON_FUZZ_SECRET", renderCanary)
	for _, text := range []string{
		// Every field, as the README lists them.
		`{{.ScheduleID}} {{.ScheduleName}} {{.TargetID}} {{.RunID}} {{.ScheduledAt}} {{.Attempt}} {{.Now}}`,
		`https://api.example.com/v1/jobs/{{.ScheduleID}}/runs/{{.RunID}}?at={{urlquery .ScheduledAt}}`,
		`{"run": {{.RunID}}, "name": {{printf "%q" .ScheduleName}}, "attempt": {{.Attempt}}, "now": "{{.Now}}"}`,
		`Bearer {{.RunID}}`,
		// Functions and control structures text/template has.
		`{{printf "%05d-%s" .RunID .ScheduleName}}{{print .RunID "x" 3 4}}{{println .Attempt}}`,
		`{{html "<a href='x'>&</a>"}}{{js "</script>\u2028"}}{{urlquery "a b&c=d"}}`,
		`{{len .ScheduleName}}{{index .ScheduleName 0}}{{slice .ScheduleName 1}}`,
		`{{if eq .Attempt 1}}first{{else if gt .Attempt 3}}late{{else}}retry{{end}}`,
		`{{with .ScheduleName}}{{.}}{{else}}none{{end}}{{and .RunID .Attempt}}{{or 0 ""}}{{not true}}`,
		`{{$a := .RunID}}{{$a = printf "%d%d" $a $a}}{{$a}}{{/* comment */}}{{- " trimmed " -}}`,
		`{{call .RunID}}`,
		`{{lt 1 2}}{{le 2 2}}{{ne "a" "b"}}{{ge 3 1}}{{eq .RunID 1 2 3}}`,
		// What must stay bounded.
		`{{range 1000000000}}x{{end}}`,
		`{{range $i, $e := 1000000000000}}{{end}}`,
		`{{define "a"}}{{template "a" .}}{{template "a" .}}{{end}}{{template "a" .}}`,
		`{{define "a"}}{{if lt (len .) 40}}{{template "a" (print . "x")}}{{template "a" (print . "x")}}{{end}}{{end}}{{template "a" ""}}`,
		`{{block "b" .}}{{.RunID}}{{end}}`,
		`{{printf "%01000000d" 0}}`,
		`{{printf "%*d" 1000000 0}}{{printf "%.1000000f" 1e308}}`,
		`{{printf "%0999999999999d" 1}}`,
		`{{$a := printf "%060000d" 0}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a}}`,
		`{{$a := "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}{{$a = print $a $a}}`,
		`{{js (js (js (js (js (js (js (js (js "<<<<<<<<<<<<<<<<"))))))))}}`,
		strings.Repeat("{{.RunID}}", 5000),
		strings.Repeat("{{if .RunID}}", 200) + "x" + strings.Repeat("{{end}}", 200),
		"{{" + strings.Repeat("(", 500) + ".RunID" + strings.Repeat(")", 500) + "}}",
		// Malformed.
		`{{`, `{{.RunID`, `}}{{`, `{{end}}`, `{{if}}`, `{{else}}`, `{{.Nope}}`, `{{.RunID.X}}`,
		`{{printf}}`, `{{printf 3}}`, `{{index .ScheduleName 99}}`, `{{break}}`, `{{nil}}`,
		`{{"unterminated}}`, "{{`raw`}}", `{{'\''}}`, `{{0x1p-2}}{{1i}}{{'a'}}`,
		// Escapes that a header's text does not show.
		`a{{"\r\nX-Injected: 1"}}`, `{{printf "%c" 10}}`, `{{"\x00"}}`,
		// Invalid UTF-8 and odd bytes.
		"\xff{{.RunID}}\xfe", "{{\"\xff\xfe\"}}", "{{.Schedule\xffName}}", "{{.RunID}}\x00\r\n",
		renderCanary,
		"no actions at all",
		"",
	} {
		f.Add(text, "nightly", int64(7), 2)
	}
	f.Add("{{.ScheduleName}}", "\xff\r\n<script>&", int64(-1), -5)
	f.Add("{{printf \"%*d\" .Attempt .RunID}}", "n", int64(9223372036854775807), 1000000)
	f.Add("{{urlquery .ScheduleName}}", "a b/c?d=e&f", int64(0), 0)

	f.Fuzz(func(t *testing.T, text, scheduleName string, runID int64, attempt int) {
		data := apicron.TemplateData{
			ScheduleID: 3, ScheduleName: scheduleName, TargetID: 5, RunID: runID,
			ScheduledAt: "2025-01-02T03:04:05.006Z", Attempt: attempt, Now: "2025-01-02T03:04:06.000Z",
		}
		tmpl, perr := apicron.ParseTemplate("body_template", text)

		began := time.Now()
		out, err := apicron.RenderTemplate("body_template", text, data)
		if took := time.Since(began); took > 3*time.Second {
			t.Fatalf("rendering %d bytes of template took %v", len(text), took)
		}
		if len(out) > apicron.MaxRenderedBytes {
			t.Fatalf("rendered %d bytes, more than MaxRenderedBytes (%d), from %d bytes of template", len(out), apicron.MaxRenderedBytes, len(text))
		}
		switch {
		case !strings.Contains(text, "{{"):
			if err != nil || out != text {
				t.Fatalf("text without actions: got %q, %v; want it as it is", out, err)
			}
		case perr != nil:
			if err == nil || err.Error() != perr.Error() {
				t.Fatalf("ParseTemplate says %v; RenderTemplate says %v", perr, err)
			}
		}
		if err != nil && out != "" {
			t.Fatalf("RenderTemplate returned %q with error %v", out, err)
		}

		// Deterministic: the same again, and the same through the parsed
		// template the executor keeps and executes.
		out2, err2 := apicron.RenderTemplate("body_template", text, data)
		if out2 != out || errText(err2) != errText(err) {
			t.Fatalf("not deterministic: %q, %v; then %q, %v", out, err, out2, err2)
		}
		if err == nil && tmpl != nil {
			var buf apicron.TemplateBuffer
			if err := apicron.ExecuteTemplate(&buf, tmpl, data, nil); err != nil || buf.String() != out {
				t.Fatalf("the parsed template renders %q, %v; RenderTemplate %q", buf.String(), err, out)
			}
		}

		// Nothing of the process comes out, only the data.
		if strings.Contains(out, renderCanary) && !strings.Contains(text, renderCanary) && !strings.Contains(scheduleName, renderCanary) {
			t.Fatalf("the template rendered a value of the environment: %q", out)
		}
		if os.Getenv("APICRON_FUZZ_SECRET") != renderCanary {
			t.Fatal("the environment changed")
		}

		// Data goes in as it is: no escaping, no truncation, unless asked.
		if got, err := apicron.RenderTemplate("url", "{{.ScheduleName}}", data); err != nil || got != scheduleName {
			t.Fatalf("{{.ScheduleName}} with %q renders %q, %v", scheduleName, got, err)
		}
		if got, err := apicron.RenderTemplate("url", "{{urlquery .ScheduleName}}", data); err != nil || got != url.QueryEscape(scheduleName) {
			t.Fatalf("{{urlquery .ScheduleName}} with %q renders %q, %v", scheduleName, got, err)
		}

		// A header value that renders CR, LF or NUL with the sample data is
		// refused when the target is saved.
		if len(text) <= apicron.MaxHeaderBytes {
			sample, serr := apicron.RenderTemplate("headers.X-Fuzz", text, sampleData)
			tg := &apicron.Target{Name: "fuzz", URL: "http://example.com/", Headers: map[string]string{"X-Fuzz": text}}
			tg.Normalize()
			verr := tg.Validate()
			if verr == nil {
				if serr != nil {
					t.Fatalf("header value %q accepted, but it does not render with the sample data: %v", text, serr)
				}
				if strings.ContainsAny(sample, "\r\n\x00") {
					t.Fatalf("header value %q accepted, but it renders %q", text, sample)
				}
				if n := len("X-Fuzz") + len(sample); n > apicron.MaxRenderedHeaderBytes {
					t.Fatalf("header value %q accepted, but the headers render %d bytes, past MaxRenderedHeaderBytes", text, n)
				}
			}
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
