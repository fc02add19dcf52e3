package scheduler

import (
	"container/heap"
	"time"
)

// item is one schedule's place in the queue.
type item struct {
	id    int64
	at    time.Time
	index int
}

// queue is a min-heap of schedules by next due time, indexed by schedule id
// so a change replaces a schedule's entry in O(log n).
type queue struct {
	items []*item
	byID  map[int64]*item
}

func newQueue() *queue { return &queue{byID: map[int64]*item{}} }

func (q *queue) Len() int           { return len(q.items) }
func (q *queue) Less(i, j int) bool { return q.items[i].at.Before(q.items[j].at) }
func (q *queue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].index, q.items[j].index = i, j
}
func (q *queue) Push(x any) {
	it := x.(*item)
	it.index = len(q.items)
	q.items = append(q.items, it)
}
func (q *queue) Pop() any {
	n := len(q.items)
	it := q.items[n-1]
	q.items[n-1] = nil
	q.items = q.items[:n-1]
	return it
}

// set puts schedule id at at, replacing its entry if it has one.
func (q *queue) set(id int64, at time.Time) {
	if it, ok := q.byID[id]; ok {
		it.at = at
		heap.Fix(q, it.index)
		return
	}
	it := &item{id: id, at: at}
	q.byID[id] = it
	heap.Push(q, it)
}

// remove drops schedule id, if present.
func (q *queue) remove(id int64) {
	if it, ok := q.byID[id]; ok {
		heap.Remove(q, it.index)
		delete(q.byID, id)
	}
}

// peek returns the earliest due time, or false if the queue is empty.
func (q *queue) peek() (time.Time, bool) {
	if len(q.items) == 0 {
		return time.Time{}, false
	}
	return q.items[0].at, true
}

// popDue removes and returns up to limit schedules due at or before now.
func (q *queue) popDue(now time.Time, limit int) []int64 {
	var ids []int64
	for len(q.items) > 0 && !q.items[0].at.After(now) && len(ids) < limit {
		it := heap.Pop(q).(*item)
		delete(q.byID, it.id)
		ids = append(ids, it.id)
	}
	return ids
}
