package store

// The connection pools' sizes, which MaxFiles counts on.
const (
	sqliteReaders = 8  // SQLite readers, beside the one writer and the checkpointer
	postgresConns = 16 // the PostgreSQL pool, readers and writers together
)

// MaxFiles returns the most file descriptors a store on driver ("sqlite" or
// "postgres") holds open at once, so that a caller can keep them in reserve:
// a process out of descriptors cannot open the files a claim needs, and its
// schedules stop firing.
func MaxFiles(driver string) int {
	if driver == "postgres" {
		// A socket per pooled connection and the listener's, and as many
		// again while they reconnect (the address lookup's sockets).
		return 2 * (postgresConns + 1)
	}
	// Each connection (the writer, the readers, the checkpointer) holds the
	// database file and its log, and may open two temporary files (a
	// statement journal, a sort); the shared-memory index and the lock file
	// are one each for the process.
	return 4*(1+sqliteReaders+1) + 2
}
