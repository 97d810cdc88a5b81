package cdn

import (
	"strconv"
	"strings"
	"time"
)

// Task is one task record: one object path of a refresh, prefetch or
// cache-tag call. The URLs of one domain in one call share an ID.
type Task struct {
	ID         string    // numeric; assigned by AddTask when empty
	Product    string    // "cdn" (default) or "dcdn"
	Domain     string    // lower case; taken from ObjectPath when empty
	ObjectPath string    // URL, directory, regex, or cache tag
	ObjectType string    // file, directory, regex, ignoreparams, preload, cachetag
	Created    time.Time // default Now
	// Failed tasks answer Status Failed with Description, e.g.
	// "OriginTimeout", "InternalError", "OriginReturnStatusCode 5XX".
	Failed      bool
	Description string
}

// AddTask records t as if a call had created it and returns its ID. Use it
// to give report tests old or failed tasks.
func (s *Server) AddTask(t Task) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		t.ID = s.newTaskIDLocked()
	}
	if t.Product == "" {
		t.Product = productCDN
	}
	if t.Domain == "" {
		t.Domain, _ = hostOf(t.ObjectPath)
	}
	t.Domain = strings.ToLower(t.Domain)
	if t.ObjectType == "" {
		t.ObjectType = "file"
	}
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	s.tasks = append(s.tasks, t)
	return t.ID
}

// FailTask marks every record of task id Failed with description and
// reports whether there was any.
func (s *Server) FailTask(id, description string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for i := range s.tasks {
		if s.tasks[i].ID == id {
			s.tasks[i].Failed = true
			s.tasks[i].Description = description
			found = true
		}
	}
	return found
}

// Tasks returns every task record, oldest first.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Task, len(s.tasks))
	copy(out, s.tasks)
	return out
}

func (s *Server) newTaskIDLocked() string {
	s.nextTask++
	return strconv.FormatInt(s.nextTask, 10)
}

// addTasksLocked records one task per target, one ID per domain, and
// returns the IDs comma-separated in domain order, as the API answers.
func (s *Server) addTasksLocked(product, objectType string, targets []target, domains []string, now time.Time) string {
	ids := make(map[string]string, len(domains))
	list := make([]string, len(domains))
	for i, d := range domains {
		ids[d] = s.newTaskIDLocked()
		list[i] = ids[d]
	}
	for _, t := range targets {
		s.tasks = append(s.tasks, Task{
			ID: ids[t.domain], Product: product, Domain: t.domain,
			ObjectPath: t.path, ObjectType: objectType, Created: now,
		})
	}
	s.pruneLocked(now)
	return strings.Join(list, ",")
}

// pruneLocked drops tasks older than the three days the API keeps, so a
// long benchmark does not grow without bound.
func (s *Server) pruneLocked(now time.Time) {
	if len(s.tasks) < 1<<16 {
		return
	}
	cut := now.Add(-taskRetention)
	kept := s.tasks[:0]
	for _, t := range s.tasks {
		if !t.Created.Before(cut) {
			kept = append(kept, t)
		}
	}
	s.tasks = kept
}
