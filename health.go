package apicron

// Engine roles, as /health reports them.
const (
	// RoleSingle is a node alone on its database (SQLite, or PostgreSQL
	// not shared): it claims and runs everything itself.
	RoleSingle = "single"
	// RoleLeader holds the dispatcher lease of a shared database: it claims.
	RoleLeader = "leader"
	// RoleFollower shares a database and takes the runs the leader claims.
	RoleFollower = "follower"
)

// EngineHealth is the engine's state, as /health reports it.
type EngineHealth struct {
	// Role is RoleSingle, RoleLeader or RoleFollower.
	Role string
	// Scheduled counts the ACTIVE schedules queued in the engine.
	Scheduled int
	// InFlight counts the runs dispatched and not yet done.
	InFlight int64
	// PendingResults counts the results waiting to be written.
	PendingResults int
	// WriteFaults describes, sorted, the database writes the engine needs
	// that fail or wait too long; none when all is well.
	WriteFaults []string
	// LeaseEpoch is the dispatcher lease's epoch while this node leads, else 0.
	LeaseEpoch int64
}
