//go:build !race

package storetest

// RaceDetector says the tests run under the race detector, which makes the
// pure-Go SQLite tens of times slower: a test that fills a database with
// a million runs skips SQLite under it.
const RaceDetector = false
