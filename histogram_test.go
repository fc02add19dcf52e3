package apicron_test

import (
	"math"
	"testing"

	"github.com/apicron/apicron"
)

// A percentile is the histogram's estimate held within the least and the
// greatest latency observed: a bucket's middle can lie beyond them.
func TestHistogram_PercentileWithinObserved(t *testing.T) {
	for _, l := range []float64{250, 1000} { // estimates 259.95 and 987.17
		var h apicron.Histogram
		h.Add(l)
		if est := h.Quantile(0.99); est == l {
			t.Fatalf("the estimate of %v is exact; pick a latency whose bucket's middle is not", l)
		}
		for _, q := range []float64{0.5, 0.95, 0.99} {
			if got := h.Percentile(q, &l, &l); got != l {
				t.Errorf("one run of %v ms: p%v = %v, want %v", l, q*100, got, l)
			}
		}
		if got, want := h.Percentile(0.5, nil, nil), h.Quantile(0.5); got != want {
			t.Errorf("without bounds: %v, want the estimate %v", got, want)
		}
	}
	var h apicron.Histogram
	lo, hi := 10.0, 250.0
	h.Add(lo)
	h.Add(hi)
	if est := h.Quantile(0.99); est <= hi {
		t.Fatalf("p99 estimate %v is not above the greatest latency", est)
	}
	if got := h.Percentile(0.99, &lo, &hi); got != hi {
		t.Errorf("p99 %v, want the greatest latency %v", got, hi)
	}
	if got, want := h.Percentile(0.5, &lo, &hi), h.Quantile(0.5); got != want {
		t.Errorf("p50 %v, want its estimate %v, within the range", got, want)
	}
}

// Range bounds every latency a histogram counted.
func TestHistogram_Range(t *testing.T) {
	var h apicron.Histogram
	if _, _, ok := h.Range(); ok {
		t.Fatal("an empty histogram has a range")
	}
	h.Add(0.05)
	h.Add(5)
	h.Add(100)
	lo, hi, ok := h.Range()
	if !ok || lo != 0 || hi < 100 || hi > 110 {
		t.Fatalf("range [%v, %v] %v, want [0, 100..110]", lo, hi, ok)
	}
	var g apicron.Histogram
	g.Add(5)
	g.Add(1e15) // beyond the last bucket's lower edge
	lo, hi, _ = g.Range()
	if lo > 5 || lo < 5/1.1 || !math.IsInf(hi, 1) {
		t.Fatalf("range [%v, %v], want [4.5..5, +Inf]", lo, hi)
	}
}

// Encode and DecodeHistogram round-trip every bucket, and a malformed pair
// (no colon, not a number, an index out of range) is skipped, not the rest.
func TestHistogram_EncodeDecode(t *testing.T) {
	var h apicron.Histogram
	for i := range apicron.HistBuckets {
		if i%3 != 1 {
			h[i] = int64(i)*1_000_003 + 1
		}
	}
	if got := apicron.DecodeHistogram(h.Encode()); got != h {
		t.Fatalf("round trip changed the counts:\n got %v\nwant %v", got, h)
	}
	var empty apicron.Histogram
	if s := empty.Encode(); s != "" {
		t.Fatalf("an empty histogram encodes as %q", s)
	}
	if got := apicron.DecodeHistogram(""); got != empty {
		t.Fatalf("decoding an empty text: %v", got)
	}
	got := apicron.DecodeHistogram("3:4,,x,5:y,7:2,200:9,-1:3,7:1,")
	var want apicron.Histogram
	want[3], want[7] = 4, 3
	if got != want {
		t.Fatalf("malformed text: got %v, want %v", got, want)
	}
}
