package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/apicron/apicron"
)

// healthTimeout bounds the database ping, so /health answers even when the database hangs.
const healthTimeout = 3 * time.Second

// Health is the body of GET /health.
type Health struct {
	_        struct{} `json:"-" additionalProperties:"true"`
	Status   string   `json:"status" enum:"ok,unavailable"`
	Version  string   `json:"version"`
	NodeID   string   `json:"node_id"`
	Database string   `json:"database" doc:"ok, or why the database does not answer"`
	Time     string   `json:"time" format:"date-time"`
	// Extra holds what Config.HealthFunc adds; it is merged into the object.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the fields and the Extra entries as one object; an
// Extra entry cannot replace a field.
func (h Health) MarshalJSON() ([]byte, error) {
	type plain Health
	b, err := json.Marshal(plain(h))
	if err != nil || len(h.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range h.Extra {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return json.Marshal(m)
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
		extra, err := s.healthFunc(ctx)
		h.Extra = extra
		if err != nil {
			s.logger.WarnContext(ctx, "health: check failed", "err", err)
			h.Status = "unavailable"
			if h.Extra == nil {
				h.Extra = map[string]any{}
			}
			if _, ok := h.Extra["error"]; !ok {
				h.Extra["error"] = apicron.ErrorMessage(err)
			}
		}
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return &healthOutput{Status: status, Body: h}, nil
}
