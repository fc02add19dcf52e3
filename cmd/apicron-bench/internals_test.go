package main

import (
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

func hist(count uint64, sum float64, buckets ...float64) *dto.Histogram {
	h := &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(sum)}
	for i := 0; i+1 < len(buckets); i += 2 {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(buckets[i]), CumulativeCount: proto.Uint64(uint64(buckets[i+1]))})
	}
	return h
}

// The bounds come from what was added between two scrapes, not from the
// histogram's whole life.
func TestQuantileBound(t *testing.T) {
	a := hist(10, 1, 0.001, 10, 0.01, 10, 0.1, 10, math.Inf(1), 10) // ten fast samples before
	b := hist(20, 2, 0.001, 18, 0.01, 19, 0.1, 20, math.Inf(1), 20) // then 8 fast, 1 below 10 ms, 1 below 100 ms
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 0.001}, {0.8, 0.001}, {0.9, 0.01}, {0.99, 0.1}, {1, 0.1}} {
		if got := quantileBound(a, b, c.q); got != c.want {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	if got := topBucket(b, b); got != 0 {
		t.Errorf("nothing added: top bucket %v, want 0", got)
	}
	over := hist(21, 9, 0.001, 18, 0.01, 19, 0.1, 20, math.Inf(1), 21) // one beyond the last bound
	if got := topBucket(b, over); got != 0.1 {
		t.Errorf("a sample beyond the last bound: %v, want the last finite bound 0.1", got)
	}
	if got := quantileBound(nil, b, 0.5); got != 0.001 {
		t.Errorf("from nothing: %v, want 0.001", got)
	}
}

func families(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	f, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Two scrapes half a second apart become rates per second, placed on the
// chart's second that holds their middle; ratios of a second without
// writes are NaN, and the report leaves them out.
func TestBetween(t *testing.T) {
	const before = `
# TYPE apicron_database_write_duration_seconds histogram
apicron_database_write_duration_seconds_bucket{op="claim",le="0.01"} 4
apicron_database_write_duration_seconds_bucket{op="claim",le="0.1"} 4
apicron_database_write_duration_seconds_bucket{op="claim",le="+Inf"} 4
apicron_database_write_duration_seconds_sum{op="claim"} 0.02
apicron_database_write_duration_seconds_count{op="claim"} 4
# TYPE apicron_database_write_batch_items histogram
apicron_database_write_batch_items_bucket{op="claim",le="+Inf"} 4
apicron_database_write_batch_items_sum{op="claim"} 400
apicron_database_write_batch_items_count{op="claim"} 4
# TYPE apicron_database_writer_busy_seconds_total counter
apicron_database_writer_busy_seconds_total 1
# TYPE apicron_sqlite_checkpoints_total counter
apicron_sqlite_checkpoints_total{connection="checkpointer"} 10
apicron_sqlite_checkpoints_total{connection="writer"} 1
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds_sum 0.001
go_gc_duration_seconds_count 2
`
	const after = `
# TYPE apicron_database_write_duration_seconds histogram
apicron_database_write_duration_seconds_bucket{op="claim",le="0.01"} 5
apicron_database_write_duration_seconds_bucket{op="claim",le="0.1"} 6
apicron_database_write_duration_seconds_bucket{op="claim",le="+Inf"} 6
apicron_database_write_duration_seconds_sum{op="claim"} 0.07
apicron_database_write_duration_seconds_count{op="claim"} 6
# TYPE apicron_database_write_batch_items histogram
apicron_database_write_batch_items_bucket{op="claim",le="+Inf"} 5
apicron_database_write_batch_items_sum{op="claim"} 700
apicron_database_write_batch_items_count{op="claim"} 5
# TYPE apicron_database_writer_busy_seconds_total counter
apicron_database_writer_busy_seconds_total 1.4
# TYPE apicron_sqlite_checkpoints_total counter
apicron_sqlite_checkpoints_total{connection="checkpointer"} 11
apicron_sqlite_checkpoints_total{connection="writer"} 1
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds_sum 0.003
go_gc_duration_seconds_count 3
`
	origin := time.UnixMilli(1_000_000)
	a := scrape{at: origin.Add(2200 * time.Millisecond), families: families(t, before), io: map[string]int64{"rchar": 0}}
	b := scrape{at: origin.Add(2700 * time.Millisecond), families: families(t, after), io: map[string]int64{"rchar": 1024}}
	x := (&internals{}).between(a, b, origin.UnixMilli())
	if x.T != 2 {
		t.Errorf("T = %d, want 2 (the middle, 2.45 s)", x.T)
	}
	for _, c := range []struct {
		name      string
		got, want F
	}{
		{"claims", x.Claims, 4}, {"claims done", x.ClaimsDone, 2}, {"claim items", x.ClaimItems, 600},
		{"claim ms", x.ClaimMs, 100}, {"claim max ms", x.ClaimMaxMs, 100},
		{"writer busy ms", x.WriterBusyMs, 800}, {"checkpoints", x.Checkpoints, 2}, {"writer checkpoints", x.WriterCkpts, 0},
		{"GC pauses", x.GCPauses, 2}, {"GC pause ms", x.GCPauseMs, 4}, {"read KiB", x.ReadKB, 2},
	} {
		if math.Abs(float64(c.got-c.want)) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !math.IsNaN(float64(ratio(x.WriteItems, x.WritesDone))) {
		t.Error("results per write without writes: want NaN")
	}
	var sb strings.Builder
	renderInternals(&sb, &Report{ChartSteadyAt: 0, Chart: make([]SecondPoint, 5)}, []Internal{x})
	if !strings.Contains(sb.String(), "| results per write | - | - | - |") || !strings.Contains(sb.String(), "| schedules per claim | 300.0 |") {
		t.Errorf("report:\n%s", sb.String())
	}
}

// TestRenderOverTime: a long steady window is split into 12 slices, each
// with its runs per second, the median and worst per-second p99, and what
// apicron held at its end; a short one gets no table.
func TestRenderOverTime(t *testing.T) {
	var chart []SecondPoint
	var xs []Internal
	for s := range 121 { // 0 is the steady window's start, left out
		chart = append(chart, SecondPoint{T: s, N: 100, P99: F(s % 10)})
		xs = append(xs, Internal{T: s, RSSKB: int64(s) * 1024, DBBytes: int64(s) << 20, WALBytes: int64(s%7) << 20, GCPauseMs: 2})
	}
	var sb strings.Builder
	renderInternals(&sb, &Report{ChartSteadyAt: 0, Chart: append(chart, SecondPoint{T: 121})}, xs)
	out := sb.String()
	i := strings.Index(out, "### Over time (the steady window in 12 slices)")
	if i < 0 {
		t.Fatalf("no over-time table:\n%s", out)
	}
	rows := strings.Split(strings.TrimSpace(out[i:strings.Index(out[i:], "\n\nThe 10 seconds")+i]), "\n")
	if len(rows) != 2+2+12 {
		t.Fatalf("%d lines in the over-time table, want a title, a blank, a header, a rule and 12 rows:\n%s", len(rows), strings.Join(rows, "\n"))
	}
	// Seconds 1 to 10: p99 1..9 and 0 (median by nearest rank 4, worst 9), RSS 10 MiB, database 10 MiB, WAL at most 6 MiB.
	if want := "| 1 | 10 | 100 | 4.0 | 9.0 | 10 | 10 | 6.0 | 2.0 |"; rows[4] != want {
		t.Fatalf("first slice %q, want %q", rows[4], want)
	}
	if want := "| 111 | 120 | 100 |"; !strings.HasPrefix(rows[15], want) {
		t.Fatalf("last slice %q, want it to begin %q", rows[15], want)
	}
	sb.Reset()
	renderInternals(&sb, &Report{ChartSteadyAt: 0, Chart: chart[:20]}, xs[:20])
	if strings.Contains(sb.String(), "Over time") {
		t.Fatal("an over-time table for a short window")
	}
}
