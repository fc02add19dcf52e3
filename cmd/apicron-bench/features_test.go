package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apicron/apicron"
)

// The assertions --assertions gives the target are valid ones of the API's
// format, and pass on the sink's answer (200 "ok") by construction.
func TestBenchAssertions(t *testing.T) {
	var list []apicron.Assertion
	dec := json.NewDecoder(strings.NewReader(string(benchAssertions)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := apicron.ValidateAssertions("assertions", list); err != nil {
		t.Fatalf("invalid: %v", err)
	}
	if len(list) != 2 || list[0].Type != apicron.AssertStatus || list[1].Type != apicron.AssertBodyContains ||
		!strings.Contains(string(okBody), list[1].Value) {
		t.Errorf("assertions = %+v, want a status check and a body_contains the sink's answer holds", list)
	}
}

func TestTargetFeatures(t *testing.T) {
	if got := (options{}).targetFeatures(); len(got) != 0 {
		t.Errorf("a plain run's target gets %v", got)
	}
	b, err := json.Marshal(options{assertions: true, signing: true}.targetFeatures())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"signing_secrets":["generate"]`, `"assertions":[{"type":"status","in":["2xx"]}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("target fields %s lack %s", b, want)
		}
	}
	body := scheduleBody("s", 1, 2*time.Second, true, "Europe/Paris")
	if body["timezone"] != "Europe/Paris" || body["cron_expression"] != "*/2 * * * * *" {
		t.Errorf("CRON schedule body = %v", body)
	}
	if _, ok := scheduleBody("s", 1, time.Second, true, "")["timezone"]; ok {
		t.Errorf("a schedule without --timezone names one")
	}
}
