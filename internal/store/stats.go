package store

import (
	"sync/atomic"
	"time"

	"github.com/apicron/apicron"
)

// writerStats are apicron.WriterStats as they are counted.
type writerStats struct {
	transactions, statements             atomic.Int64
	busy, wait                           atomic.Int64 // nanoseconds
	checkpoints, writerCheckpoints       atomic.Int64
	checkpointTime, writerCheckpointTime atomic.Int64 // nanoseconds
	walFrames                            atomic.Int64
}

// WriterStats returns the writer's counts so far.
func (db *DB) WriterStats() apicron.WriterStats {
	s := &db.stats
	return apicron.WriterStats{
		Transactions: s.transactions.Load(), Statements: s.statements.Load(),
		Busy: time.Duration(s.busy.Load()), Wait: time.Duration(s.wait.Load()),
		Checkpoints: s.checkpoints.Load(), WriterCheckpoints: s.writerCheckpoints.Load(),
		CheckpointTime: time.Duration(s.checkpointTime.Load()), WriterCheckpointTime: time.Duration(s.writerCheckpointTime.Load()),
		WALFrames: s.walFrames.Load(), SQLite: db.d.name == "sqlite",
	}
}
