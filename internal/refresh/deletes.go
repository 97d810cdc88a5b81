package refresh

import (
	"sync"
	"time"
)

// deleteMemory is how long a pipeline remembers that a URL's object was
// deleted: long enough for every window and retry of the invocations that
// changed it before.
const deleteMemory = 10 * time.Minute

// recentDeletes remembers, per URL, the latest delete this pipeline saw,
// so that a prefetch of an older change still waiting in a window is not
// sent. It is safe for concurrent use.
type recentDeletes struct {
	mu        sync.Mutex
	at        map[string]time.Time // URL -> change time of the latest delete
	seen      map[string]time.Time // URL -> when it was noted
	nextPrune time.Time
}

// note records the deletes among jobs, noted at now.
func (d *recentDeletes) note(jobs []Job, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, j := range jobs {
		if !j.deletes() {
			continue
		}
		if d.at == nil {
			d.at, d.seen = map[string]time.Time{}, map[string]time.Time{}
		}
		if j.ChangeTime.After(d.at[j.URL]) {
			d.at[j.URL] = j.ChangeTime
		}
		d.seen[j.URL] = now
	}
	if now.After(d.nextPrune) {
		d.nextPrune = now.Add(deleteMemory)
		for u, t := range d.seen {
			if now.Sub(t) > deleteMemory {
				delete(d.seen, u)
				delete(d.at, u)
			}
		}
	}
}

// after reports whether the object of url was deleted by a change later
// than t.
func (d *recentDeletes) after(url string, t time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.at[url]
	return ok && at.After(t)
}
