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

// Health is the body of GET /health.
type Health struct {
	Status   string `json:"status" enum:"ok,unavailable" doc:"ok, or unavailable (with 503) when the database does not answer or the engine cannot write"`
	Version  string `json:"version"`
	NodeID   string `json:"node_id"`
	Database string `json:"database" doc:"ok, or why the database does not answer"`
	Time     string `json:"time" format:"date-time"`
	Role     string `json:"role,omitempty" enum:"single,leader,follower" doc:"single: alone on its database; leader: holds the dispatcher lease of a shared database and claims; follower: takes what the leader claims"`
	// Engine is nil when the API runs without an engine (tests).
	Engine *EngineHealth `json:"engine,omitempty"`
	Error  string        `json:"error,omitempty" doc:"Why status is unavailable, when the engine says so"`
}

// EngineHealth is the engine part of /health.
type EngineHealth struct {
	Scheduled      int    `json:"scheduled" doc:"ACTIVE schedules queued in the engine"`
	InFlight       int64  `json:"in_flight" doc:"Runs dispatched and not yet done"`
	PendingResults int    `json:"pending_results" doc:"Results waiting to be written"`
	DatabaseWrites string `json:"database_writes" doc:"ok, or the writes the engine needs that fail or wait on the database, and why"`
	LeaseEpoch     *int64 `json:"lease_epoch,omitempty" doc:"The dispatcher lease's epoch, while this node leads"`
}

type healthOutput struct {
	Status int
	Body   Health
}

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
		if err != nil {
			s.logger.WarnContext(ctx, "health: check failed", "err", err)
			h.Status = "unavailable"
			h.Error = apicron.ErrorMessage(err)
		}
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return &healthOutput{Status: status, Body: h}, nil
}
