package apicron

import (
	"math"
	"strconv"
	"strings"
)

// Latency histogram buckets grow by histGrowth from histMin milliseconds, so
// a quantile read from it is within about 5 % of the true value, from 0.1 ms to hours.
const (
	histMin     = 0.1
	histGrowth  = 1.1
	HistBuckets = 200
)

// Histogram counts latencies in logarithmic buckets. It is what keeps latency
// percentiles answerable without scanning runs.
type Histogram [HistBuckets]int64

// Bucket returns the bucket index of a latency in milliseconds.
func Bucket(ms float64) int {
	if ms <= histMin {
		return 0
	}
	i := int(math.Log(ms/histMin)/math.Log(histGrowth)) + 1
	if i >= HistBuckets {
		return HistBuckets - 1
	}
	return i
}

// upper returns the upper bound of bucket i in milliseconds.
func upper(i int) float64 {
	return histMin * math.Pow(histGrowth, float64(i))
}

// Add counts one latency.
func (h *Histogram) Add(ms float64) { h[Bucket(ms)]++ }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, n := range o {
		h[i] += n
	}
}

// Quantile returns the latency at quantile q (0..1), the geometric middle of
// its bucket; 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) float64 {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, n := range h {
		seen += n
		if seen >= rank {
			if i == 0 {
				return histMin
			}
			return math.Round(math.Sqrt(upper(i-1)*upper(i))*100) / 100
		}
	}
	return upper(HistBuckets - 1)
}

// Range returns the least and the greatest latency the histogram's counts
// can stand for: the lower edge of its first non-empty bucket and the upper
// edge of its last (+Inf for the last bucket, which has no upper edge); ok
// is false when it is empty.
func (h *Histogram) Range() (lo, hi float64, ok bool) {
	first, last := -1, -1
	for i, n := range h {
		if n > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0, 0, false
	}
	if first > 0 {
		lo = upper(first - 1)
	}
	hi = math.Inf(1)
	if last < HistBuckets-1 {
		hi = upper(last)
	}
	return lo, hi, true
}

// Percentile returns the latency reported at quantile q (0..1): the
// histogram's estimate (Quantile) held within [lo, hi], the least and the
// greatest latency observed. An estimate is its bucket's geometric middle
// and can lie outside what any run took (a single run of 100 ms would
// report 102.5 ms); a bound is nil when it is not known, and then does not
// hold the estimate.
func (h *Histogram) Percentile(q float64, lo, hi *float64) float64 {
	v := h.Quantile(q)
	if hi != nil && v > *hi {
		v = *hi
	}
	if lo != nil && v < *lo {
		v = *lo
	}
	return v
}

// Encode writes the non-empty buckets as "index:count" pairs.
func (h *Histogram) Encode() string {
	b := make([]byte, 0, 128)
	for i, n := range h {
		if n == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, n, 10)
	}
	return string(b)
}

// DecodeHistogram reads what Encode wrote; malformed pairs are skipped.
// It is read and written back at every result batch of a schedule, so it
// walks the text instead of splitting it into a slice of pairs.
func DecodeHistogram(s string) Histogram {
	var h Histogram
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, ",")
		i, n, ok := strings.Cut(pair, ":")
		if !ok {
			continue
		}
		idx, err1 := strconv.Atoi(i)
		cnt, err2 := strconv.ParseInt(n, 10, 64)
		if err1 == nil && err2 == nil && idx >= 0 && idx < HistBuckets {
			h[idx] += cnt
		}
	}
	return h
}
