package executor

import (
	"fmt"
	"strings"
	"sync"
	"testing"

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
	if _, err := c.render("body_template", "", big, testData); err == nil || !strings.Contains(err.Error(), "renders more than 1048576 bytes") {
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
				got, err := c.render(field, "X-Key", text, testData)
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
		if _, err := c.render("url", "", fmt.Sprintf("{{.RunID}}/%d", i), testData); err != nil {
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
		_, _ = big.render("body_template", "", fmt.Sprintf("{{.RunID}}%040d", i), testData)
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
				got, err := c.render("url", "", text, testData)
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
			if _, err := c.render("url", "", text, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		c := newTemplateCache(templateCacheEntries, templateCacheBytes)
		var data any = testData
		b.ReportAllocs()
		for b.Loop() {
			_, _ = c.render("url", "", "https://api.test/hook", data)
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
