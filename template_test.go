package apicron_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/apicron/apicron"
)

// TestExecuteTemplate_Cap holds the one render cap: a parsed template may
// render MaxRenderedBytes and not a byte more, through ExecuteTemplate as
// through RenderTemplate, with the same error; a budget another field spent
// counts; what a reused buffer held does not.
func TestExecuteTemplate_Cap(t *testing.T) {
	t.Parallel()
	// 16 times a 64 KiB literal is exactly MaxRenderedBytes.
	const part = apicron.MaxRenderedBytes / 16
	exact := `{{$s := "` + strings.Repeat("x", part) + `"}}` + strings.Repeat("{{$s}}", 16)
	tests := []struct {
		name    string
		text    string
		spent   int // by the URL, before
		prefill int // bytes in the buffer before
		wantErr error
	}{
		{"exactly the cap", exact, 0, 0, nil},
		{"one byte over", exact + "y", 0, 0, apicron.ErrRenderedTooLarge},
		{"over only on run 7", `{{if eq .RunID 7}}` + exact + `{{end}}y`, 0, 0, apicron.ErrRenderedTooLarge},
		{"the request's other fields count", exact, apicron.MaxRenderedRequestBytes - apicron.MaxRenderedBytes + 1, 0, apicron.ErrRequestTooLarge},
		{"the request's other fields fit", exact, apicron.MaxRenderedRequestBytes - apicron.MaxRenderedBytes, 0, nil},
		{"a reused buffer starts empty", exact, 0, 100, nil},
	}
	data := apicron.TemplateData{RunID: 7}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := apicron.ParseTemplate("body_template", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			var buf apicron.TemplateBuffer
			budget := apicron.NewRenderBudget()
			if err := budget.Spend("url", tt.spent); err != nil {
				t.Fatal(err)
			}
			if tt.prefill > 0 {
				pre, _ := apicron.ParseTemplate("body_template", strings.Repeat("p", tt.prefill)+"{{.RunID}}")
				if err := apicron.ExecuteTemplate(&buf, pre, data, nil); err != nil {
					t.Fatal(err)
				}
			}
			err = apicron.ExecuteTemplate(&buf, tmpl, data, &budget)
			if buf.Len() > apicron.MaxRenderedBytes {
				t.Errorf("buffer grew to %d bytes, past the cap %d", buf.Len(), apicron.MaxRenderedBytes)
			}
			if tt.wantErr == nil {
				if err != nil || buf.Len() != apicron.MaxRenderedBytes || strings.HasPrefix(buf.String(), "p") {
					t.Errorf("ExecuteTemplate: %d bytes, %v; want %d bytes of x and no error", buf.Len(), err, apicron.MaxRenderedBytes)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), "template does not execute: ") {
				t.Errorf("ExecuteTemplate: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == apicron.ErrRenderedTooLarge {
				if want := "template does not execute: body_template renders more than 1048576 bytes"; err.Error() != want {
					t.Errorf("ExecuteTemplate: %q, want %q", err, want)
				}
				if _, rerr := apicron.RenderTemplate("body_template", tt.text, data); rerr == nil || rerr.Error() != err.Error() {
					t.Errorf("RenderTemplate says %v, ExecuteTemplate %v: want one error", rerr, err)
				}
			}
		})
	}
}

// TestRenderBudget holds the request's caps: header names and values
// together at most MaxRenderedHeaderBytes, the whole request at most
// MaxRenderedRequestBytes, whether the bytes are literal or rendered.
func TestRenderBudget(t *testing.T) {
	t.Parallel()
	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		b := apicron.NewRenderBudget()
		if err := b.Spend("headers.X-A", apicron.MaxRenderedHeaderBytes-10); err != nil {
			t.Fatal(err)
		}
		tmpl, _ := apicron.ParseTemplate("headers.X-B", `{{printf "%011d" 0}}`)
		var buf apicron.TemplateBuffer
		if err := apicron.ExecuteTemplate(&buf, tmpl, apicron.TemplateData{}, &b); !errors.Is(err, apicron.ErrHeadersTooLarge) {
			t.Errorf("11 bytes past 10 left: %v, want ErrHeadersTooLarge", err)
		}
		if buf.Len() > 10 {
			t.Errorf("rendered %d bytes with 10 left: want it stopped at the cap", buf.Len())
		}
		tmpl, _ = apicron.ParseTemplate("headers.X-B", `{{printf "%010d" 0}}`)
		if err := apicron.ExecuteTemplate(&buf, tmpl, apicron.TemplateData{}, &b); err != nil {
			t.Errorf("10 bytes with 10 left: %v", err)
		}
		if err := b.Spend("headers", 1); !errors.Is(err, apicron.ErrHeadersTooLarge) {
			t.Errorf("a byte more: %v, want ErrHeadersTooLarge", err)
		}
		// The body does not count towards the headers' cap.
		if err := b.Spend("body_template", 1000); err != nil {
			t.Errorf("the body after full headers: %v", err)
		}
	})
	t.Run("request", func(t *testing.T) {
		t.Parallel()
		b := apicron.NewRenderBudget()
		for _, s := range []struct {
			field string
			n     int
		}{{"url", apicron.MaxURLLength}, {"headers", apicron.MaxRenderedHeaderBytes}, {"body_template", apicron.MaxRenderedBytes}} {
			if err := b.Spend(s.field, s.n); err != nil {
				t.Fatalf("%s of %d bytes: %v", s.field, s.n, err)
			}
		}
		if err := b.Spend("url", 1); !errors.Is(err, apicron.ErrRequestTooLarge) {
			t.Errorf("a byte more: %v, want ErrRequestTooLarge", err)
		}
	})
	t.Run("nil bounds nothing", func(t *testing.T) {
		t.Parallel()
		var b *apicron.RenderBudget
		if err := b.Spend("headers", 1<<30); err != nil {
			t.Errorf("nil budget: %v", err)
		}
	})
}

// bigHeader renders about 1 MiB (16 printf results of 65000 bytes, each
// within MaxTemplateValueBytes) in 400 bytes of template.
var bigHeader = strings.Repeat(`{{printf "%065000d" 0}}`, 16)

// TestTarget_ValidateRenderCaps: a target is refused when saved if its
// request, rendered with the sample data, passes a cap, and validation
// stops rendering there rather than rendering everything first.
func TestTarget_ValidateRenderCaps(t *testing.T) {
	// Not parallel: it measures what it allocates.
	attack := map[string]string{}
	for i := range apicron.MaxHeaders {
		attack[fmt.Sprintf("X-H%02d", i)] = bigHeader
	}
	small := map[string]string{"X-A": strings.Repeat("a", 8000)}
	fullHeaders := map[string]string{}
	for i := range 8 {
		fullHeaders[fmt.Sprintf("X-F%d", i)] = strings.Repeat("f", 8000) // 64,032 bytes with the names
	}
	// With X-F8 of 1,500 bytes the headers come to 65,536 bytes exactly.
	exactHeaders := map[string]string{"X-F8": strings.Repeat("f", 1500)}
	overHeaders := map[string]string{"X-F8": strings.Repeat("f", 1501)}
	for k, v := range fullHeaders {
		exactHeaders[k], overHeaders[k] = v, v
	}
	// A URL and a body that render much, beside full headers: past the request's cap.
	bigURL := "http://example.com/" + strings.Repeat(`{{printf "%060000d" 0}}`, 2)
	bigBody := strings.Repeat(`{{printf "%065000d" 0}}`, 16) + strings.Repeat("b", 8000)
	tests := []struct {
		name    string
		target  apicron.Target
		field   string // of the EINVALID error; "" if valid
		wantErr error
	}{
		{"the 50-header attack", apicron.Target{URL: "http://example.com/", Headers: attack}, "headers", apicron.ErrHeadersTooLarge},
		{"one big header", apicron.Target{URL: "http://example.com/", Headers: map[string]string{"X-A": bigHeader}}, "headers", apicron.ErrHeadersTooLarge},
		{"literal headers past the cap", apicron.Target{URL: "http://example.com/", Headers: overHeaders}, "headers", apicron.ErrHeadersTooLarge},
		{"headers at the cap", apicron.Target{URL: "http://example.com/", Headers: exactHeaders}, "", nil},
		{"a big body beside small headers", apicron.Target{URL: "http://example.com/", Headers: small, BodyTemplate: bigBody}, "", nil},
		{"URL, headers and body past the request's cap", apicron.Target{URL: bigURL, Headers: fullHeaders, BodyTemplate: bigBody}, "body_template", apicron.ErrRequestTooLarge},
		{"large only on a later run", apicron.Target{URL: "http://example.com/", Headers: map[string]string{"X-A": `{{if ne .RunID 1}}` + bigHeader + `{{end}}`}}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.target
			tg.Name = "n"
			tg.Normalize()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tg.Validate()
			runtime.ReadMemStats(&after)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			if apicron.ErrorCode(err) != apicron.EINVALID || apicron.ErrorField(err) != tt.field || !strings.Contains(apicron.ErrorMessage(err), tt.wantErr.Error()) {
				t.Fatalf("Validate: %v, want EINVALID on %s saying %q", err, tt.field, tt.wantErr)
			}
			// The attack renders 50 MiB; refused at the headers' cap it
			// allocates what a few printf results and one buffer take.
			if tt.name == "the 50-header attack" {
				if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
					t.Errorf("Validate allocated %d bytes, want at most 4 MiB", d)
				}
			}
		})
	}
}
