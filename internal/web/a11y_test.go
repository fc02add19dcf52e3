package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/apicron/apicron"
)

// axeEnv names the file of axe-core (axe.min.js) the accessibility audit
// runs; .ci/run fetches the pinned version from npm (make axe). Without it
// the audit skips, saying so.
const axeEnv = "APICRON_AXE_JS"

// axeRules are the WCAG 2.1 A and AA rules.
const axeRules = `{runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}`

// axeViolation is one rule a page breaks, with a few of its elements.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// TestBrowser_Accessibility audits every page of the dashboard with
// axe-core against WCAG 2.1 A and AA (labels, names, landmarks, contrast,
// ...), in the light and the dark colour scheme and at a phone's width:
// no violation is allowed, and no page is wider than the screen.
func TestBrowser_Accessibility(t *testing.T) {
	t.Parallel()
	ctx := newTabFor(t, 5*time.Minute) // 51 audits
	path := os.Getenv(axeEnv)
	if path == "" {
		t.Skipf("accessibility audit: %s is not set (make axe fetches axe-core and prints the line to export)", axeEnv)
	}
	axe, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", axeEnv, err)
	}
	e := newWebEnv(t, "sqlite", nil, nil)
	e.mustRun(t, apicron.Success)
	failed := e.mustRun(t, apicron.Failed)
	n := &apicron.Notifier{Name: "ops-hook", Type: apicron.NotifierWebhook, URL: "https://hooks.example/ops"}
	if err := e.db.CreateNotifier(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/", "/?range=24h", "/ui/runs", fmt.Sprintf("/ui/runs/%d", failed), "/ui/schedules",
		fmt.Sprintf("/ui/schedules/%d", e.sched.ID), fmt.Sprintf("/ui/schedules/%d/edit", e.sched.ID), "/ui/schedules/new",
		"/ui/targets", fmt.Sprintf("/ui/targets/%d", e.target.ID), "/ui/targets/new", "/ui/notifiers",
		fmt.Sprintf("/ui/notifiers/%d", n.ID), "/ui/notifiers/new", "/ui/notifications", "/ui/settings",
		fmt.Sprintf("/ui/targets/%d/delete", e.target.ID)}
	for _, look := range []struct {
		scheme string
		width  int64
	}{{"light", 1280}, {"dark", 1280}, {"light", 390}} {
		do(ctx, t, "emulate "+look.scheme, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: look.scheme}}}); err != nil {
				return err
			}
			return chromedp.Do(ctx, chromedp.EmulateViewport(look.width, 900))
		}))
		for _, p := range pages {
			do(ctx, t, "open "+p, chromedp.Navigate(e.srv.URL+p), chromedp.WaitReady(chromedp.CSS("main")))
			if dark := eval[bool](ctx, t, `matchMedia("(prefers-color-scheme: dark)").matches`); dark != (look.scheme == "dark") {
				t.Fatalf("%s: prefers-color-scheme dark is %v, want %v", p, dark, look.scheme == "dark")
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+"\n;true")); err != nil {
				t.Fatalf("load axe-core into %s: %v", p, err)
			}
			found := eval[[]axeViolation](ctx, t, `axe.run(document, `+axeRules+`).then(r => r.violations.map(v => ({
				id: v.id, impact: v.impact || "", help: v.help,
				nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + (n.failureSummary ? " (" + n.failureSummary.replace(/\s+/g, " ") + ")" : ""))})))`)
			// Usable on a phone: the page itself never scrolls sideways
			// (wide tables scroll inside their own region).
			if wide := eval[int](ctx, t, `document.documentElement.scrollWidth - innerWidth`); wide > 0 {
				t.Errorf("%s at %d px: the page is %d px wider than the screen", p, look.width, wide)
			}
			for _, v := range found {
				t.Errorf("%s, %s at %d px: %s (%s, %s): %s", p, look.scheme, look.width, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "))
			}
		}
	}
}
