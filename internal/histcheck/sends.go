package histcheck

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apicron/apicron"
)

// sendClass says what a recorded attempt tells of its request.
type sendClass int

const (
	// notSent: the attempt ended before its request left (a template or a
	// secret that failed, an OAuth 2.0 token not had, an address blocked,
	// a name not resolved, no host slot or rate-limit turn).
	notSent sendClass = iota
	// uncertain: the request was handed to the transport and no answer
	// came (a timeout, a connection or TLS error, an interruption): it may
	// or may not have reached the target.
	uncertain
	// answered: a status code came back, so the target received it.
	answered
)

// neverSent are the error types of attempts whose request never reached
// a target even though the transport was called: the dialer refused the
// address, or the name did not resolve.
var neverSent = map[string]bool{
	apicron.ErrTemplate: true, apicron.ErrBlocked: true, apicron.ErrDNS: true, apicron.ErrOAuth2: true,
	apicron.ErrHostLimit: true, apicron.ErrRateLimit: true,
}

// classify reads an attempt's row: the executor sets the latency only once
// it has called the transport (internal/executor send), and a status code
// only from a response.
func classify(a attemptRow) sendClass {
	switch {
	case a.statusCode.Valid:
		return answered
	case !a.latency.Valid || neverSent[a.errorType]:
		return notSent
	}
	return uncertain
}

// arrival is what the log says of one run: the requests of each attempt,
// of its last sending (attempts) and of those before it, cut short when its
// node stopped and run again (retry_interrupted; earlier, by rerun).
type arrival struct {
	run      int64
	occ      occurrence
	attempts map[int][]*Request
	earlier  map[int]map[int][]*Request
}

// sending returns the requests of the run's sending rerun (0: the first).
func (a *arrival) sending(rerun int, last bool) map[int][]*Request {
	if last {
		return a.attempts
	}
	m := a.earlier[rerun]
	if m == nil {
		m = map[int][]*Request{}
		a.earlier[rerun] = m
	}
	return m
}

// checkRequests holds the log to the runs (invariants 1 and 2) and the
// runs to the log (invariant 3).
func (c *checker) checkRequests() {
	byRun := map[int64]*arrival{}
	byOcc := map[occurrence][]int64{}
	for i := range c.reqs {
		r := &c.reqs[i]
		if r.RunID == 0 {
			c.rep.Facts.Unlabelled++
			continue
		}
		c.rep.Facts.Requests++
		o := r.occurrence()
		if !slices.Contains(byOcc[o], r.RunID) {
			byOcc[o] = append(byOcc[o], r.RunID)
		}
		if run := c.snap.runs[r.RunID]; run != nil && (run.schedule != o.schedule || run.scheduledAt != o.at) {
			c.violate(RunMismatch, o.schedule, o.at, r.RunID, "attempt %d names a run that is schedule %d's occurrence at %s", r.Attempt,
				run.schedule, fromMs(run.scheduledAt).Format(apicron.TimeFormat))
			continue // not this run's request: its attempts are not the run's
		}
		a := byRun[r.RunID]
		if a == nil {
			a = &arrival{run: r.RunID, occ: o, attempts: map[int][]*Request{}, earlier: map[int]map[int][]*Request{}}
			byRun[r.RunID] = a
		}
		if r.Rerun > apicron.MaxInterruptedReruns {
			c.violate(DuplicateSend, o.schedule, o.at, r.RunID, "attempt %d arrived as rerun %d; no run is sent again more than %d times",
				r.Attempt, r.Rerun, apicron.MaxInterruptedReruns)
		}
		last := true
		if run := c.snap.runs[r.RunID]; run != nil {
			if r.Rerun > run.reruns {
				c.violate(UnrecordedAttempt, o.schedule, o.at, r.RunID, "attempt %d arrived as rerun %d; the run records %d reruns",
					r.Attempt, r.Rerun, run.reruns)
			}
			last = r.Rerun == run.reruns
		}
		m := a.sending(r.Rerun, last)
		m[r.Attempt] = append(m[r.Attempt], r)
	}
	c.checkOnce(byOcc, byRun)
	for _, id := range slices.Sorted(maps.Keys(byRun)) {
		c.checkHasRun(byRun[id])
	}
	for _, id := range slices.Sorted(maps.Keys(c.snap.runs)) {
		c.checkReceived(c.snap.runs[id], byRun[id])
	}
}

// checkOnce is invariant 1: one run per occurrence, each attempt once.
func (c *checker) checkOnce(byOcc map[occurrence][]int64, byRun map[int64]*arrival) {
	occs := slices.SortedFunc(maps.Keys(byOcc), func(a, b occurrence) int {
		return cmp.Or(cmp.Compare(a.schedule, b.schedule), cmp.Compare(a.at, b.at))
	})
	for _, o := range occs {
		if runs := byOcc[o]; len(runs) > 1 {
			slices.Sort(runs)
			c.violate(DuplicateSend, o.schedule, o.at, runs[1], "the occurrence arrived from %d runs: %s", len(runs), joinIDs(runs))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(byRun)) {
		a := byRun[id]
		c.checkAttemptsOnce(a, a.attempts, "")
		for _, k := range slices.Sorted(maps.Keys(a.earlier)) {
			c.checkAttemptsOnce(a, a.earlier[k], fmt.Sprintf(" of rerun %d", k))
		}
	}
}

// checkAttemptsOnce holds one sending of a run to each attempt arriving once.
func (c *checker) checkAttemptsOnce(a *arrival, attempts map[int][]*Request, which string) {
	for _, n := range slices.Sorted(maps.Keys(attempts)) {
		if reqs := attempts[n]; len(reqs) > 1 {
			c.violate(DuplicateSend, a.occ.schedule, a.occ.at, a.run, "attempt %d%s arrived %d times%s", n, which, len(reqs), nodesOf(reqs))
		}
	}
}

// checkHasRun is invariant 2 for one run's requests (those of its own
// occurrence: checkRequests reported the others): the run is a row, and
// once finished it records each attempt that
// arrived (an INTERRUPTED run may not: its result was never written).
func (c *checker) checkHasRun(a *arrival) {
	r := c.snap.runs[a.run]
	if r == nil {
		c.violate(NoRun, a.occ.schedule, a.occ.at, a.run, "%d requests arrived for a run that is not in runs", countOf(a))
		return
	}
	if r.status == apicron.Running || r.status == apicron.Interrupted {
		return
	}
	recorded := map[int]attemptRow{}
	for _, at := range r.recorded() {
		recorded[at.number] = at
	}
	for _, n := range slices.Sorted(maps.Keys(a.attempts)) {
		at, ok := recorded[n]
		switch {
		case !ok:
			c.violate(UnrecordedAttempt, r.schedule, r.scheduledAt, r.id, "attempt %d arrived; the %s run records %d attempts, not that one",
				n, r.status, len(recorded))
		case classify(at) == notSent && (!at.latency.Valid || at.errorType == apicron.ErrHostLimit || at.errorType == apicron.ErrRateLimit):
			c.violate(UnrecordedAttempt, r.schedule, r.scheduledAt, r.id, "attempt %d arrived; the run records it as never sent (%s %s)",
				n, at.status, at.errorType)
		}
	}
}

// checkReceived is invariant 3 for one run: every attempt it recorded as
// answered arrived. Only finished runs of the targets the sink serves are
// held to it; an INTERRUPTED run is a fact either way.
func (c *checker) checkReceived(r *runRow, a *arrival) {
	f := &c.rep.Facts
	f.Runs++
	if r.status == apicron.Running {
		f.Running++
		return
	}
	if c.targets != nil && !c.targets[r.target] {
		return
	}
	if r.status == apicron.Interrupted {
		if a != nil {
			f.InterruptedReceived++
		} else {
			f.InterruptedUnreceived++
		}
		return
	}
	sent := false
	for _, at := range r.recorded() {
		got := a != nil && len(a.attempts[at.number]) > 0
		switch classify(at) {
		case answered:
			sent = true
			if !got {
				c.violate(NotReceived, r.schedule, r.scheduledAt, r.id, "attempt %d was answered (%s, HTTP %d) and never arrived",
					at.number, at.status, at.statusCode.Int64)
			}
		case uncertain:
			sent = true
			f.Uncertain++
			if got {
				f.UncertainReceived++
			}
		}
	}
	if !sent {
		f.NotSent++
	}
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

func nodesOf(reqs []*Request) string {
	var nodes []string
	for _, r := range reqs {
		if r.Node != "" {
			nodes = append(nodes, r.Node)
		}
	}
	if len(nodes) == 0 {
		return ""
	}
	return " (from nodes " + strings.Join(nodes, ", ") + ")"
}

func countOf(a *arrival) int {
	n := 0
	for _, reqs := range a.attempts {
		n += len(reqs)
	}
	for _, m := range a.earlier {
		for _, reqs := range m {
			n += len(reqs)
		}
	}
	return n
}
