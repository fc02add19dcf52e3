package apicron_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apicron/apicron"
)

// TestExecuteTemplate_Cap holds the one render cap: a parsed template may
// render MaxRenderedBytes and not a byte more, through ExecuteTemplate as
// through RenderTemplate, with the same error, and what the buffer already
// holds counts.
func TestExecuteTemplate_Cap(t *testing.T) {
	t.Parallel()
	// 16 times a 64 KiB literal is exactly MaxRenderedBytes.
	const part = apicron.MaxRenderedBytes / 16
	exact := `{{$s := "` + strings.Repeat("x", part) + `"}}` + strings.Repeat("{{$s}}", 16)
	tests := []struct {
		name    string
		text    string
		prefill int // bytes in the buffer before
		wantErr bool
	}{
		{"exactly the cap", exact, 0, false},
		{"one byte over", exact + "y", 0, true},
		{"over only on run 7", `{{if eq .RunID 7}}` + exact + `{{end}}y`, 0, true},
		{"the buffer's bytes count", exact, 1, true},
	}
	data := apicron.TemplateData{RunID: 7}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := apicron.ParseTemplate("body_template", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.WriteString(strings.Repeat("p", tt.prefill))
			err = apicron.ExecuteTemplate(&buf, tmpl, data)
			if buf.Len() > apicron.MaxRenderedBytes {
				t.Errorf("buffer grew to %d bytes, past the cap %d", buf.Len(), apicron.MaxRenderedBytes)
			}
			if !tt.wantErr {
				if err != nil || buf.Len() != apicron.MaxRenderedBytes {
					t.Errorf("ExecuteTemplate: %d bytes, %v; want %d bytes and no error", buf.Len(), err, apicron.MaxRenderedBytes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "renders more than 1048576 bytes") {
				t.Errorf("ExecuteTemplate: %v, want the size refused", err)
			}
			if tt.prefill == 0 {
				if _, rerr := apicron.RenderTemplate("body_template", tt.text, data); rerr == nil || rerr.Error() != err.Error() {
					t.Errorf("RenderTemplate says %v, ExecuteTemplate %v: want one error", rerr, err)
				}
			}
		})
	}
}
