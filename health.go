package apicron

import "time"

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
	// LeaseTTLDisagreement names the live nodes of a shared database that
	// run with another LEASE_TTL than this node's; empty when all agree.
	LeaseTTLDisagreement string
}

// WriterStats counts what the store's writer did since it opened, for
// metrics (store.DB.WriterStats): a scrape a second shows, beside the requests' lateness, whether
// the writer was busy, waited, or stalled on a checkpoint. Every field only
// grows, except WALFrames.
type WriterStats struct {
	// Transactions are the write transactions committed or rolled back.
	Transactions int64
	// Statements are the statements run inside write transactions.
	Statements int64
	// Busy is the time write transactions held the writer (begin to
	// commit).
	Busy time.Duration
	// Wait is the time writes waited for the writer before beginning
	// (SQLite's one connection; on PostgreSQL the pool's).
	Wait time.Duration
	// Checkpoints and CheckpointTime count SQLite's checkpoints of the
	// write-ahead log from their own connection; WriterCheckpoints and
	// WriterCheckpointTime those finished on the writer's connection so
	// that the log restarts (the writer waits for them). Zero on
	// PostgreSQL.
	Checkpoints, WriterCheckpoints       int64
	CheckpointTime, WriterCheckpointTime time.Duration
	// WALFrames is the write-ahead log's length (pages) at the last
	// checkpoint. Zero on PostgreSQL.
	WALFrames int64
	// SQLite says whether the checkpoint and WAL figures apply.
	SQLite bool
}
