package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// nodeID is the NODE_ID of node i (0-based) of a run: "bench" for the
// first, which the API calls go to and the per-second figures come from.
func nodeID(i int) string {
	if i == 0 {
		return "bench"
	}
	return fmt.Sprintf("bench-%d", i+1)
}

// NodeShare is one apicron process of a --nodes run: its share of the
// requests (the runs its node_id owns) and its CPU in the steady window.
type NodeShare struct {
	NodeID       string `json:"node_id"` // "" for runs no node took
	PID          int    `json:"pid"`
	Runs         int64  `json:"runs_in_cpu_window"`
	Share        F      `json:"share"` // of all runs in the CPU window
	CPUWindowSec F      `json:"cpu_window_s"`
	CPUPer1000   F      `json:"cpu_s_per_1000_runs_window"`
	// WarnLines and ErrorLines count the process's log lines of each
	// level (the extra nodes'; the first's are in the process figures);
	// ExitErr is how it ended, if not cleanly.
	WarnLines  int    `json:"warn_lines"`
	ErrorLines int    `json:"error_lines"`
	ExitErr    string `json:"exit_error,omitempty"`
}

// extraNodes are the processes beside the first of a --nodes run.
type extraNodes struct {
	procs    []*apicronProc
	cpu0     []procSample
	exitErrs []string // by process, after stop
}

// startExtraNodes starts nodes 2..n on the same database and waits until
// each is healthy.
func (h *harness) startExtraNodes(ctx context.Context, db *benchDB) (*extraNodes, error) {
	x := &extraNodes{}
	for i := 1; i < h.o.nodes; i++ {
		e := h.procEnv(db, fmt.Sprintf("apicron-%d.log", i+1))
		e.nodeID = nodeID(i)
		p, err := startApicron(ctx, e, 5*time.Minute)
		if err != nil {
			x.kill()
			return nil, fmt.Errorf("node %s: %w", e.nodeID, err)
		}
		x.procs = append(x.procs, p)
		if _, err := p.waitHealthy(ctx, time.Minute); err != nil {
			x.kill()
			return nil, fmt.Errorf("node %s: %w", e.nodeID, err)
		}
	}
	return x, nil
}

// sample records each node's CPU at the start of the window.
func (x *extraNodes) sample() error {
	for _, p := range x.procs {
		s, err := sampleProc(p.pid)
		if err != nil {
			return err
		}
		x.cpu0 = append(x.cpu0, s)
	}
	return nil
}

// shares returns every node's share, the first's (first0 and first1 its CPU
// samples) included, from the extra nodes' CPU samples at the window's end
// (ends) and the runs in the CPU window counted by node_id (byNode).
func (x *extraNodes) shares(firstPID int, first0, first1 procSample, ends []procSample, byNode map[string]int64) []NodeShare {
	var total int64
	for _, n := range byNode {
		total += n
	}
	share := func(id string, pid int, cpu float64) NodeShare {
		runs := byNode[id]
		return NodeShare{NodeID: id, PID: pid, Runs: runs, Share: ratio(F(runs), F(total)), CPUWindowSec: F(cpu),
			CPUPer1000: ratio(F(cpu)*1000, F(runs))}
	}
	out := []NodeShare{share(nodeID(0), firstPID, first1.CPUSec-first0.CPUSec)}
	for i, p := range x.procs {
		out = append(out, share(nodeID(i+1), p.pid, ends[i].CPUSec-x.cpu0[i].CPUSec))
	}
	// Runs owned by no node of this run (none expected) are shown too.
	for id, n := range byNode {
		if !slices.ContainsFunc(out, func(s NodeShare) bool { return s.NodeID == id }) {
			out = append(out, NodeShare{NodeID: id, Runs: n, Share: ratio(F(n), F(total))})
		}
	}
	return out
}

// stop sends SIGTERM to every extra node at once and waits for them all.
func (x *extraNodes) stop(h *harness) {
	x.exitErrs = make([]string, len(x.procs))
	var wg sync.WaitGroup
	for i, p := range x.procs {
		h.logf("SIGTERM to apicron node (pid %d)", p.pid)
		wg.Go(func() {
			if _, err := p.stop(2 * time.Minute); err != nil {
				x.exitErrs[i] = err.Error()
				h.logf("node pid %d: %v", p.pid, err)
			}
		})
	}
	wg.Wait()
}

// health adds each extra node's log counts and exit to nodes (from shares).
func (x *extraNodes) health(nodes []NodeShare) {
	for i, p := range x.procs {
		if i+1 >= len(nodes) {
			return
		}
		nodes[i+1].WarnLines, nodes[i+1].ErrorLines, _ = p.logCounts()
		if i < len(x.exitErrs) {
			nodes[i+1].ExitErr = x.exitErrs[i]
		}
	}
}

func (x *extraNodes) kill() {
	for _, p := range x.procs {
		p.kill()
	}
}

// renderNodes writes the table of each node's share of a --nodes run.
func renderNodes(b *strings.Builder, nodes []NodeShare) {
	if len(nodes) < 2 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n| node (NODE_ID) | pid | runs in the steady window | share | CPU-s | CPU per 1,000 of its runs | WARN / ERROR lines, exit |\n|---|---:|---:|---:|---:|---:|---|\n")
	for i, n := range nodes {
		if n.PID == 0 { // runs whose node_id is no process of this run
			name := n.NodeID
			if name == "" {
				name = "(not taken by any node)"
			}
			p("| %s | | %s | %s | | | |\n", name, fmtInt(n.Runs), fmtF(n.Share, 3))
			continue
		}
		health := "in the process figures"
		if i > 0 {
			health = fmt.Sprintf("%d / %d", n.WarnLines, n.ErrorLines)
			if n.ExitErr != "" {
				health += ", " + n.ExitErr
			}
		}
		p("| %s | %d | %s | %s | %s | %s s | %s |\n", n.NodeID, n.PID, fmtInt(n.Runs), fmtF(n.Share, 3), fmtF(n.CPUWindowSec, 2),
			fmtF(n.CPUPer1000, 3), health)
	}
}

// nodesLogs lists the log files of the extra nodes, for the report's notes.
func (x *extraNodes) logs() string {
	var names []string
	for _, p := range x.procs {
		names = append(names, filepath.Base(p.logPath))
	}
	return strings.Join(names, ", ")
}
