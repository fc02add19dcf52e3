package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildApicron builds ./cmd/apicron into dir with CGO_ENABLED=0, from the
// module root (the working directory must be inside the module).
func buildApicron(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "apicron")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/apicron")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/apicron: %w", err)
	}
	return bin, nil
}

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found: run the harness from inside the apicron module, or pass --apicron-bin")
		}
		dir = parent
	}
}

// apicronProc is one apicron subprocess.
type apicronProc struct {
	cmd       *exec.Cmd
	pid       int
	base      string    // http://127.0.0.1:PORT
	spawned   time.Time // just before exec
	listening time.Time // when the "listening" log line was read
	logPath   string
	done      chan struct{} // closed when the process has exited
	exitErr   error

	logMu  sync.Mutex
	warns  int // WARN lines logged
	errs   int // ERROR lines logged
	sample []string
}

// procEnv is what apicron is started with.
type procEnv struct {
	bin           string
	databaseURL   string
	maxConcurrent int
	logLevel      string
	nodeID        string
	retention     string // RUN_RETENTION ("": apicron's default)
	dir           string // working directory (no .env there)
	logPath       string
}

// startApicron starts apicron serve on a free loopback port and waits until
// it logs its address (it recovers and loads every schedule before that).
func startApicron(ctx context.Context, e procEnv, wait time.Duration) (*apicronProc, error) {
	cmd := exec.Command(e.bin, "serve")
	env := []string{
		"DATABASE_URL=" + e.databaseURL,
		"HOST=127.0.0.1",
		"PORT=0",
		"LOG_LEVEL=" + e.logLevel,
		"LOG_FORMAT=text",
		"NODE_ID=" + e.nodeID,
	}
	if e.maxConcurrent > 0 {
		env = append(env, "MAX_CONCURRENT_JOBS="+strconv.Itoa(e.maxConcurrent))
	}
	if e.retention != "" {
		env = append(env, "RUN_RETENTION="+e.retention)
	}
	// Keep PATH, HOME and the like; drop anything apicron would read as a setting.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "PATH", "HOME", "TMPDIR", "LANG", "TZ", "GODEBUG", "GOMAXPROCS", "GOGC", "GOMEMLIMIT":
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Dir = e.dir
	logf, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd.Stdout = logf
	p := &apicronProc{cmd: cmd, logPath: e.logPath, done: make(chan struct{})}
	addr := make(chan string, 1)
	p.spawned = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", e.bin, err)
	}
	p.pid = cmd.Process.Pid
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if i := strings.Index(line, "msg=listening addr="); i >= 0 {
				a := line[i+len("msg=listening addr="):]
				if j := strings.IndexByte(a, ' '); j >= 0 {
					a = a[:j]
				}
				p.listening = time.Now()
				select {
				case addr <- a:
				default:
				}
			}
			p.noteLevel(line)
		}
		_, _ = io.Copy(logf, stderr)
	}()
	go func() {
		<-scanDone
		p.exitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case a := <-addr:
		p.base = strings.TrimRight(a, "/")
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("apicron exited before listening (%v); see %s", p.exitErr, e.logPath)
	case <-t.C:
		p.kill()
		return nil, fmt.Errorf("apicron did not log its address within %s; see %s", wait, e.logPath)
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

func (p *apicronProc) noteLevel(line string) {
	var lvl string
	switch {
	case strings.Contains(line, "level=ERROR"):
		lvl = "ERROR"
	case strings.Contains(line, "level=WARN"):
		lvl = "WARN"
	default:
		return
	}
	p.logMu.Lock()
	defer p.logMu.Unlock()
	if lvl == "ERROR" {
		p.errs++
	} else {
		p.warns++
	}
	if len(p.sample) < 5 {
		p.sample = append(p.sample, line)
	}
}

// logCounts returns how many WARN and ERROR lines apicron logged, and the first few.
func (p *apicronProc) logCounts() (warns, errs int, sample []string) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.warns, p.errs, slices.Clone(p.sample)
}

// waitHealthy polls /health until it answers 200.
func (p *apicronProc) waitHealthy(ctx context.Context, within time.Duration) (time.Time, error) {
	deadline := time.Now().Add(within)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		resp, err := c.Get(p.base + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-p.done:
			return time.Time{}, fmt.Errorf("apicron exited: %v", p.exitErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Time{}, fmt.Errorf("/health not OK within %s", within)
}

// stop sends SIGTERM to our child (by PID) and waits up to grace for it to
// exit, then SIGKILLs it. It returns how long the exit took.
func (p *apicronProc) stop(grace time.Duration) (time.Duration, error) {
	start := time.Now()
	select {
	case <-p.done:
		return 0, fmt.Errorf("apicron had already exited: %v", p.exitErr)
	default:
	}
	if err := syscall.Kill(p.pid, syscall.SIGTERM); err != nil {
		return 0, err
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return time.Since(start), p.exitErr
	case <-t.C:
		p.kill()
		return time.Since(start), fmt.Errorf("apicron did not exit within %s of SIGTERM; killed", grace)
	}
}

// kill SIGKILLs our child by PID and waits for it.
func (p *apicronProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	<-p.done
}

// procSample is the CPU and memory of a process at one instant.
type procSample struct {
	At     time.Time `json:"at"`
	CPUSec float64   `json:"cpu_seconds"` // utime + stime
	RSSKB  int64     `json:"rss_kb"`      // VmRSS
	HWMKB  int64     `json:"hwm_kb"`      // VmHWM, the peak RSS
	// The machine's cumulative CPU seconds (all CPUs) at the same instant,
	// to tell apicron's stalls from the machine's.
	MachBusySec   float64 `json:"machine_busy_s"`
	MachIOWaitSec float64 `json:"machine_iowait_s"`
	MachStealSec  float64 `json:"machine_steal_s"`
}

// clockTicks is USER_HZ, which /proc/<pid>/stat counts in. It is 100 on
// every Linux architecture Go supports, but ask getconf when it is there.
var clockTicks = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// sampleProc reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmRSS, VmHWM).
func sampleProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name, in parentheses, may hold spaces: split after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return s, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	if len(fields) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	s.CPUSec = float64(ut+st) / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb := func() int64 {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
			return v
		}
		switch name {
		case "VmRSS":
			s.RSSKB = kb()
		case "VmHWM":
			s.HWMKB = kb()
		}
	}
	return s, nil
}

// monitor samples a process every interval until stop is closed.
type monitor struct {
	mu      sync.Mutex
	samples []procSample
	stopC   chan struct{}
	done    chan struct{}
}

func startMonitor(pid int, every time.Duration) *monitor {
	m := &monitor{stopC: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if s, err := sampleProc(pid); err == nil {
				c := readCPUTimes()
				s.MachBusySec, s.MachIOWaitSec, s.MachStealSec = c.busy, c.iowait, c.steal
				m.mu.Lock()
				m.samples = append(m.samples, s)
				m.mu.Unlock()
			}
			select {
			case <-m.stopC:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *monitor) stop() []procSample {
	close(m.stopC)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.samples
}

// selfCPU returns the harness's own CPU seconds (utime + stime).
func selfCPU() float64 {
	s, err := sampleProc(os.Getpid())
	if err != nil {
		return 0
	}
	return s.CPUSec
}

// loadAvg returns /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// perfRecord runs perf record on pid for d, writing to out; it is a child of
// the harness and is stopped by its own PID if it overstays.
func perfRecord(ctx context.Context, pid int, d time.Duration, out string) error {
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", out,
		"--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 0, 64))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d + 30*time.Second):
	case <-ctx.Done():
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		return <-done
	}
}

// perfTop summarises a perf.data file: the top symbols by self time, and by
// inclusive (children) time, which shows where apicron's CPU goes by caller
// (Finish, Claim, the executor, the API, the garbage collector).
func perfTop(ctx context.Context, data string, lines int) (string, error) {
	var b strings.Builder
	for _, mode := range []struct {
		flag  string
		lines int
	}{{"--no-children", lines}, {"--children", 2 * lines}} {
		cmd := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", mode.flag, "--percent-limit", "0.5",
			"-g", "none", "--sort", "symbol")
		out, err := cmd.Output()
		if err != nil {
			return b.String(), err
		}
		fmt.Fprintf(&b, "perf report %s --sort symbol (top %d):\n", mode.flag, mode.lines)
		n := 0
		for line := range strings.SplitSeq(string(out), "\n") {
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			// Drop the empty trailing columns perf prints in stdio mode.
			line = strings.TrimRight(line, " -")
			if len(line) > 150 {
				line = line[:150]
			}
			b.WriteString(line + "\n")
			if n++; n >= mode.lines {
				break
			}
		}
	}
	return b.String(), nil
}

// cpuTimes is the machine's CPU time from /proc/stat's "cpu" line, in seconds
// summed over all CPUs.
type cpuTimes struct {
	at     time.Time
	busy   float64 // user, nice, system, irq, softirq
	idle   float64 // idle, iowait
	iowait float64
	steal  float64
}

func readCPUTimes() cpuTimes {
	c := cpuTimes{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return c
	}
	v := make([]float64, len(f)-1)
	for i := range v {
		n, _ := strconv.ParseFloat(f[i+1], 64)
		v[i] = n / clockTicks
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice, counted in user]
	c.busy = v[0] + v[1] + v[2] + v[5] + v[6]
	c.idle = v[3] + v[4]
	c.iowait = v[4]
	c.steal = v[7]
	return c
}

// Noise is what the machine did besides the measured processes over a window.
type Noise struct {
	WallSec    F `json:"wall_s"`
	BusyCores  F `json:"busy_cores"`  // all processes, on average
	OtherCores F `json:"other_cores"` // busy minus apicron minus the harness
	StealCores F `json:"steal_cores"` // taken by the hypervisor
	IdleCores  F `json:"idle_cores"`
	IOWait     F `json:"iowait_cores"`
}

// noiseBetween describes the machine between two /proc/stat samples, given
// the CPU seconds the measured processes used meanwhile.
func noiseBetween(a, b cpuTimes, ours float64) Noise {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return Noise{}
	}
	busy := b.busy - a.busy
	return Noise{
		WallSec:    F(wall),
		BusyCores:  F(busy / wall),
		OtherCores: F(max(busy-ours, 0) / wall),
		StealCores: F((b.steal - a.steal) / wall),
		IdleCores:  F((b.idle - a.idle) / wall),
		IOWait:     F((b.iowait - a.iowait) / wall),
	}
}
