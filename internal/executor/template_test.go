package executor

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

var testData = apicron.TemplateData{
	ScheduleID: 3, ScheduleName: "nightly", TargetID: 5, RunID: 7,
	ScheduledAt: "2025-01-02T03:04:05.006Z", Attempt: 2, Now: "2025-01-02T03:04:06.000Z",
}

// TestRenderMatchesRoot holds the cached rendering to apicron.RenderTemplate:
// same output, same error texts.
func TestRenderMatchesRoot(t *testing.T) {
	t.Parallel()
	texts := []string{
		"plain",
		"https://x.test/?run={{.RunID}}&at={{.ScheduledAt}}",
		`{"a":{{.Attempt}},"n":"{{.ScheduleName}}","s":{{.ScheduleID}},"t":{{.TargetID}},"now":"{{.Now}}"}`,
		"{{.Missing}}",
		"{{.RunID",
		"{{if .Attempt}}retry{{end}}",
		"{{printf \"%05d\" .RunID}}",
		"{{template \"x\"}}",
	}
	// Small on the sample data validation runs, over MaxRenderedBytes on run 7.
	big := `{{$s := "` + strings.Repeat("x", 60000) + `"}}{{if eq .RunID 7}}` + strings.Repeat("{{$s}}", 20) + "{{end}}"
	texts = append(texts, big)
	c := newTemplateCache(16, 1<<20)
	if _, err := c.render("body_template", "", big, testData, nil); err == nil || !strings.Contains(err.Error(), "renders more than 1048576 bytes") {
		t.Errorf("a body rendering 1.2 MB: error %v, want the size refused", err)
	}
	for _, field := range []string{"url", "body_template", "headers"} {
		for _, text := range texts {
			name := field
			if field == "headers" {
				name = "headers.X-Key"
			}
			want, wantErr := apicron.RenderTemplate(name, text, testData)
			for range 2 { // a miss, then a hit
				got, err := c.render(field, "X-Key", text, testData, nil)
				if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Errorf("%s %q: got %q, %v; root gives %q, %v", field, text, got, err, want, wantErr)
				}
			}
		}
	}
}

func TestTemplateCache_Bounded(t *testing.T) {
	t.Parallel()
	c := newTemplateCache(4, 1<<20)
	for i := range 100 {
		if _, err := c.render("url", "", fmt.Sprintf("{{.RunID}}/%d", i), testData, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.cur) > 4 || len(c.old) > 4 {
		t.Errorf("cache holds %d+%d entries, want at most 4+4", len(c.cur), len(c.old))
	}
	// A hot text survives rotation by moving forward from the old generation.
	hot := templateKey{field: "url", text: "{{.RunID}}/hot"}
	e := c.get(hot)
	for i := range 20 {
		c.get(templateKey{field: "url", text: fmt.Sprintf("{{.RunID}}/cold%d", i)})
		if c.get(hot) != e {
			t.Fatalf("hot template parsed again after %d others", i)
		}
	}
	big := newTemplateCache(100, 64)
	for i := range 10 {
		_, _ = big.render("body_template", "", fmt.Sprintf("{{.RunID}}%040d", i), testData, nil)
	}
	if big.curBytes > 64 {
		t.Errorf("cache holds %d bytes of text, want at most 64", big.curBytes)
	}
}

func TestTemplateCache_Concurrent(t *testing.T) {
	t.Parallel()
	c := newTemplateCache(8, 1<<20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				text := fmt.Sprintf("{{.RunID}}-%d", (g+i)%20)
				got, err := c.render("url", "", text, testData, nil)
				if want := fmt.Sprintf("7-%d", (g+i)%20); err != nil || got != want {
					t.Errorf("render %q = %q, %v", text, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkRender(b *testing.B) {
	const text = "https://api.test/hook?run={{.RunID}}&schedule={{.ScheduleID}}&at={{.ScheduledAt}}"
	b.Run("cached", func(b *testing.B) {
		c := newTemplateCache(templateCacheEntries, templateCacheBytes)
		var data any = testData
		b.ReportAllocs()
		for b.Loop() {
			budget := apicron.NewRenderBudget()
			if _, err := c.render("url", "", text, data, &budget); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		c := newTemplateCache(templateCacheEntries, templateCacheBytes)
		var data any = testData
		b.ReportAllocs()
		for b.Loop() {
			budget := apicron.NewRenderBudget()
			_, _ = c.render("url", "", "https://api.test/hook", data, &budget)
		}
	})
	b.Run("root_uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := apicron.RenderTemplate("url", text, testData); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestExecute_RenderBudget: a target whose templates render little with
// the sample data, so that it is saved, but much on a real run fails that
// run as template, with the cap named and nothing sent, and rendering stops
// at the cap: the attempt allocates a few MiB at most, not the 50 MiB its
// 50 headers would render.
func TestExecute_RenderBudget(t *testing.T) {
	// Not parallel: it measures what it allocates.
	var hits atomic.Int32
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	// About 1 MiB from 400 bytes of template, on any run but the sample's.
	later := func(n int) string {
		return `{{if ne .RunID 1}}` + strings.Repeat(`{{printf "%065000d" 0}}`, n) + `{{end}}`
	}
	big := later(16)
	many := map[string]string{}
	for i := range apicron.MaxHeaders {
		many[fmt.Sprintf("X-H%02d", i)] = big
	}
	full := map[string]string{} // 64,032 bytes of literal headers
	for i := range 8 {
		full[fmt.Sprintf("X-F%d", i)] = strings.Repeat("f", 8000)
	}
	tests := []struct {
		name    string
		url     string
		headers map[string]string
		body    string
		want    error
		alloc   uint64 // at most, per attempt
	}{
		{"50 headers of 1 MiB", srv.URL + "/", many, "", apicron.ErrHeadersTooLarge, 2 << 20},
		// The body may render most of a MiB before it reaches the cap.
		{"URL, headers and body", srv.URL + "/" + later(2), full, big, apicron.ErrRequestTooLarge, 8 << 20},
	}
	e := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := apicron.Target{Name: "n", URL: tt.url, Headers: tt.headers, BodyTemplate: tt.body}
			tg.Normalize()
			if err := tg.Validate(); err != nil {
				t.Fatalf("the target is refused when saved (%v); the test needs one that passes", err)
			}
			job := newTestJob(tt.url)
			job.Headers, job.BodyTemplate = tt.headers, tt.body
			res := execute(t, e, job, 5*time.Second) // parses the templates into the cache
			if res.Status != apicron.Failed || res.ErrorType != apicron.ErrTemplate || !strings.Contains(res.ErrorMessage, tt.want.Error()) {
				t.Fatalf("got %s %s %q, want FAILED template saying %q", res.Status, res.ErrorType, res.ErrorMessage, tt.want)
			}
			const runs = 4
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				e.Execute(context.Background(), job)
			}
			runtime.ReadMemStats(&after)
			d := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%d bytes allocated per attempt", d)
			if d > tt.alloc {
				t.Errorf("an attempt allocated %d bytes, want at most %d", d, tt.alloc)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("target hit %d times, want 0", n)
	}
}
