package apicron

import (
	"context"
	"time"
)

// EventKind names what happened to a schedule.
type EventKind string

// Schedule event kinds.
const (
	EventCreated    EventKind = "created"
	EventUpdated    EventKind = "updated"
	EventPaused     EventKind = "paused"
	EventResumed    EventKind = "resumed"
	EventStopped    EventKind = "stopped"
	EventTriggered  EventKind = "triggered"
	EventBackfilled EventKind = "backfilled"
)

// EventKinds lists the event kinds.
var EventKinds = []EventKind{EventCreated, EventUpdated, EventPaused, EventResumed, EventStopped, EventTriggered, EventBackfilled}

// ScheduleEvent is one entry of a schedule's history: what happened, when,
// who did it (Actor), and the details (which fields changed, a pause's
// reason, a stop's reason, a manual run's id).
type ScheduleEvent struct {
	ID         int64
	ScheduleID int64
	At         time.Time
	Kind       EventKind
	// Actor is who did it: "engine" for what the engine did by itself (a
	// stop, an automatic resume), "api" for a call to an API without
	// tokens, "token:" and a fingerprint of the token otherwise.
	Actor  string
	Detail map[string]any
}

// ActorEngine is the actor of what the engine does by itself.
const ActorEngine = "engine"

type actorKey struct{}

// WithActor returns ctx carrying who makes the changes made with it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor put on ctx, or ActorEngine.
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return ActorEngine
}
