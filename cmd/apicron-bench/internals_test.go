package main

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
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
