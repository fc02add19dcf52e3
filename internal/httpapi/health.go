package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/apicron/apicron"
)

// healthTimeout bounds the database ping, so /health answers even when the database hangs.
const healthTimeout = 3 * time.Second

// Health is the body of GET /health. With tokens configured, a caller
// without a valid one gets status alone (see health); every other field is
// optional in the schema for that reason.
type Health struct {
	Status   string `json:"status" enum:"ok,unavailable" doc:"ok, or unavailable (with 503) when the database does not answer or the engine cannot write. With tokens set, a caller without a valid one gets this field alone"`
	Version  string `json:"version,omitempty" doc:"The version running; not for a caller without a valid token when tokens are set"`
	NodeID   string `json:"node_id,omitempty" doc:"This node's NODE_ID; not for a caller without a valid token when tokens are set"`
	Database string `json:"database,omitempty" doc:"ok, or why the database does not answer; not for a caller without a valid token when tokens are set"`
	Time     string `json:"time,omitempty" format:"date-time" doc:"The time on this node; not for a caller without a valid token when tokens are set"`
	Role     string `json:"role,omitempty" enum:"single,leader,follower" doc:"single: alone on its database; leader: holds the dispatcher lease of a shared database and claims; follower: takes what the leader claims"`
	// Engine is nil when the API runs without an engine (tests).
	Engine *EngineHealth `json:"engine,omitempty"`
	// Notifiers says whether alerts get through; a failing notifier does
	// not make the node unavailable.
	Notifiers *NotifiersHealth `json:"notifiers,omitempty"`
	Error     string           `json:"error,omitempty" doc:"Why status is unavailable, when the engine says so"`
}

// NotifiersHealth is the notifiers part of /health.
type NotifiersHealth struct {
	Status  string            `json:"status" enum:"ok,failing" doc:"failing when the latest delivery (or test) of a notifier failed"`
	Failing []FailingNotifier `json:"failing" nullable:"false" doc:"Those notifiers (at most 100)"`
}

// FailingNotifier is a notifier whose latest delivery failed.
type FailingNotifier struct {
	ID            int64   `json:"id"`
	Name          string  `json:"name"`
	LastError     string  `json:"last_error"`
	LastAttemptAt *string `json:"last_attempt_at" format:"date-time"`
}

// EngineHealth is the engine part of /health.
type EngineHealth struct {
	Scheduled      int    `json:"scheduled" doc:"ACTIVE schedules queued in the engine"`
	InFlight       int64  `json:"in_flight" doc:"Runs dispatched and not yet done"`
	PendingResults int    `json:"pending_results" doc:"Results waiting to be written"`
	DatabaseWrites string `json:"database_writes" doc:"ok, or the writes the engine needs that fail or wait on the database, and why"`
	LeaseEpoch     *int64 `json:"lease_epoch,omitempty" doc:"The dispatcher lease's epoch, while this node leads"`
	LeaseTTL       string `json:"lease_ttl,omitempty" example:"node-2 runs with LEASE_TTL 10s; this node with 5s: fencing needs the same LEASE_TTL on every node" doc:"On a shared database, the live nodes that run with a LEASE_TTL other than this node's (a misconfiguration that weakens the fencing of paused nodes; the status stays ok); absent when all agree"`
}

type healthOutput struct {
	Status int
	Body   Health
}

// health reports the state of the node. With tokens configured, a caller
// without a valid one (load balancers, orchestrators, anyone) learns only
// whether the node is healthy, from status and the 200 or 503: the version
// tells an attacker which weaknesses to try, and the engine's counts how
// busy the node is and how many schedules it holds. A token, read-only
// included, gets the whole report.
func (s *Server) health(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := Health{Status: "ok", Version: s.version, NodeID: s.nodeID, Database: "ok", Time: formatTime(s.now())}
	if err := s.store.Ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "health: database does not answer", "err", err)
		h.Status = "unavailable"
		h.Database = apicron.ErrorMessage(err)
	}
	if s.healthFunc != nil {
		eh, err := s.healthFunc(ctx)
		h.Role = eh.Role
		h.Engine = &EngineHealth{Scheduled: eh.Scheduled, InFlight: eh.InFlight, PendingResults: eh.PendingResults, DatabaseWrites: "ok"}
		if len(eh.WriteFaults) > 0 {
			h.Engine.DatabaseWrites = strings.Join(eh.WriteFaults, "; ")
		}
		if eh.Role == apicron.RoleLeader {
			h.Engine.LeaseEpoch = &eh.LeaseEpoch
		}
		h.Engine.LeaseTTL = eh.LeaseTTLDisagreement
		if err != nil {
			s.logger.WarnContext(ctx, "health: check failed", "err", err)
			h.Status = "unavailable"
			h.Error = apicron.ErrorMessage(err)
		}
	}
	if h.Database == "ok" {
		failing, err := s.store.FailingNotifiers(ctx)
		if err != nil {
			s.logger.WarnContext(ctx, "health: read notifiers", "err", err)
		} else {
			h.Notifiers = &NotifiersHealth{Status: "ok", Failing: []FailingNotifier{}}
			for _, n := range failing {
				h.Notifiers.Status = "failing"
				h.Notifiers.Failing = append(h.Notifiers.Failing, FailingNotifier{ID: n.ID, Name: n.Name, LastError: n.LastError,
					LastAttemptAt: nullTime(n.LastAttemptAt)})
			}
		}
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	if s.auth != nil && tokenAccess(ctx) == accessNone {
		h = Health{Status: h.Status}
	}
	return &healthOutput{Status: status, Body: h}, nil
}
