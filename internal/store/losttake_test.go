package store_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apicron/apicron"
	"github.com/apicron/apicron/internal/store"
	"github.com/apicron/apicron/internal/storetest"
)

// commitCutter is a TCP proxy to PostgreSQL that, once armed, forwards the
// next COMMIT to the server and then closes the client's connection before
// the server's answer reaches it: the transaction is committed, and the
// client sees its connection fail. That is a take whose answer was lost.
type commitCutter struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	cut    chan struct{}
}

// newCommitCutter starts a proxy to the server of dsn and returns it and
// dsn pointed at it.
func newCommitCutter(t *testing.T, dsn string) (*commitCutter, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitCutter{ln: ln, target: u.Host, cut: make(chan struct{}, 1)}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	u.Host = ln.Addr().String()
	return p, u.String()
}

// waitCut waits for the armed proxy to cut a commit's answer.
func (p *commitCutter) waitCut(t *testing.T) {
	t.Helper()
	select {
	case <-p.cut:
	case <-time.After(10 * time.Second):
		t.Fatal("no commit was cut")
	}
}

// runningOn counts the RUNNING runs assigned to node, read on dsn directly.
func runningOn(t *testing.T, dsn, node string) string {
	t.Helper()
	return rawQuery(t, "postgres", dsn, "SELECT COUNT(*) FROM runs WHERE status = 'RUNNING' AND node_id = '"+node+"'")
}

func (p *commitCutter) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

// pipe copies one connection, reading the client's side as PostgreSQL
// messages (a startup message without a type byte, then type, length,
// body) so that it can tell a COMMIT.
func (p *commitCutter) pipe(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var mute atomic.Bool
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && !mute.Load() {
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	r := bufio.NewReader(client)
	var head [5]byte
	if _, err := io.ReadFull(r, head[1:]); err != nil { // the startup message's length
		return
	}
	startup := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
	if _, err := io.ReadFull(r, startup); err != nil {
		return
	}
	if _, err := server.Write(append(head[1:5:5], startup...)); err != nil {
		return
	}
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		msg := append(head[:5:5], body...)
		if head[0] == 'Q' && strings.HasPrefix(strings.ToLower(string(body)), "commit") && p.armed.CompareAndSwap(true, false) {
			mute.Store(true) // before the server can answer
			_, _ = server.Write(msg)
			time.Sleep(200 * time.Millisecond) // the server commits meanwhile
			p.cut <- struct{}{}
			return
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

// A take whose commit succeeded but whose answer was lost leaves its runs
// assigned to a live node that does not know them; the node's next take
// gives them back to the queue (by the failed take's token) and takes them
// again, so each is sent once, by a node that knows it. Runs another node
// took meanwhile are not touched.
func TestCluster_LostTakeGivenBack(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	leader, dsn := storetest.OpenShared(t, "node-a", clock)
	proxy, proxied := newCommitCutter(t, dsn)
	b := storetest.OpenDSN(t, "postgres", proxied, store.Config{Shared: true, NodeID: "node-b", Clock: clock})
	ctx := context.Background()
	runs := mustClaimQueued(t, leader, clock, 5)

	proxy.armed.Store(true)
	if jobs, err := b.TakeRuns(ctx, 10, 0); err == nil {
		t.Fatalf("a take whose answer was cut returned %d runs and no error", len(jobs))
	}
	proxy.waitCut(t)
	if got := runningOn(t, dsn, "node-b"); got != "5" {
		t.Fatalf("%s runs assigned to node-b after the cut commit, want 5: the fault was not provoked", got)
	}

	jobs, err := b.TakeRuns(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, j := range jobs {
		got = append(got, j.RunID)
	}
	slices.Sort(got)
	if !slices.Equal(got, runs) {
		t.Fatalf("the take after the lost one returned runs %v, want the lost take's %v", got, runs)
	}
	// Known now, they are node-b's; another node's take finds none, and
	// node-b's next take, which releases the lost token again, leaves them.
	if jobs, err := leader.TakeRuns(ctx, 10, 0); err != nil || len(jobs) != 0 {
		t.Fatalf("another node took %d runs (err %v), want none", len(jobs), err)
	}
	time.Sleep(1100 * time.Millisecond) // the release runs at most once a second
	if jobs, err := b.TakeRuns(ctx, 10, 0); err != nil || len(jobs) != 0 {
		t.Fatalf("node-b's next take returned %d runs (err %v), want none", len(jobs), err)
	}
	if got := runningOn(t, dsn, "node-b"); got != "5" {
		t.Fatalf("%s runs assigned to node-b, want its 5: a release touched runs a later take holds", got)
	}
	for _, id := range runs {
		if r, err := leader.FindRunByID(ctx, id); err != nil || r.Status != apicron.Running || r.NodeID != "node-b" {
			t.Fatalf("run %d: %s on %q (err %v), want RUNNING on node-b", id, r.Status, r.NodeID, err)
		}
	}
}

// A leader alone takes the runs it claims in the claim itself. A claim
// whose commit succeeded but whose answer was lost leaves its runs this
// node's with no one to send them; its next take gives them back to the
// queue (by the claim's token) and takes them again, so each is sent once.
func TestCluster_LostClaimGivenBack(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(t0)
	_, dsn := storetest.OpenShared(t, "node-x", clock)
	proxy, proxied := newCommitCutter(t, dsn)
	a := storetest.OpenDSN(t, "postgres", proxied, store.Config{Shared: true, NodeID: "node-a", Clock: clock})
	ctx := context.Background()
	mustHeartbeat(t, a, time.Hour, "node-a", 1) // alone: its claims take their runs
	tg := mustCreateTarget(t, a)
	var ids []int64
	for i := range 5 {
		s := mustCreateSchedule(t, a, &apicron.Schedule{Name: "s" + string(rune('a'+i)), TargetID: tg.ID, Type: apicron.Interval, IntervalSeconds: 3600})
		ids = append(ids, s.ID)
	}

	proxy.armed.Store(true)
	if res, err := a.Claim(ctx, clock.Now(), clock.Now(), ids, nil); err == nil {
		t.Fatalf("a claim whose answer was cut returned %d results and no error", len(res))
	}
	proxy.waitCut(t)
	if got := runningOn(t, dsn, "node-a"); got != "5" {
		t.Fatalf("%s runs assigned to node-a after the cut commit, want 5: the fault was not provoked", got)
	}
	jobs, err := a.TakeRuns(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 5 {
		t.Fatalf("the take after the lost claim returned %d runs, want its 5", len(jobs))
	}
	for _, j := range jobs {
		if j.TakeToken == 0 || !slices.Contains(ids, j.ScheduleID) {
			t.Fatalf("taken: run %d of schedule %d, token %d", j.RunID, j.ScheduleID, j.TakeToken)
		}
	}
	if got := rawQuery(t, "postgres", dsn, "SELECT COUNT(*) FROM runs"); got != "5" {
		t.Fatalf("%s runs, want the claim's 5", got)
	}
}
