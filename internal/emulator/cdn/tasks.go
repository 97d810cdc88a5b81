package cdn

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Task statuses, as Describe*RefreshTask* answer them.
const (
	statusPending    = "Pending"
	statusRefreshing = "Refreshing"
	statusComplete   = "Complete"
	statusFailed     = "Failed"
)

// failureReasons are the documented reasons a task fails, as
// DescribeRefreshTasks spells them and as DescribeRefreshTaskById does
// (its API page, Description: Internal Error, Origin Timeout, Origin
// Return StatusCode 5XX).
var failureReasons = []struct{ list, byID string }{
	{"InternalError", "Internal Error"},
	{"OriginTimeout", "Origin Timeout"},
	{"OriginReturnStatusCode 5XX", "Origin Return StatusCode 5XX"},
}

// spellReason returns the failure description d as DescribeRefreshTaskById
// (byID) or DescribeRefreshTasks spells it; a description not documented
// is kept as it is.
func spellReason(d string, byID bool) string {
	for _, r := range failureReasons {
		if d == r.list || d == r.byID {
			if byID {
				return r.byID
			}
			return r.list
		}
	}
	return d
}

// Task is one task record: one object path of a refresh, prefetch or
// cache-tag call. URL refreshes of one domain in one second share an ID
// (up to 2,000 of them, seed 001); the other kinds get an ID per domain
// per call.
type Task struct {
	ID         string // numeric; assigned by AddTask when empty
	Product    string // "cdn" (default) or "dcdn"
	Domain     string // lower case; taken from ObjectPath when empty
	ObjectPath string // URL, directory, regex, or cache tag
	ObjectType string // file, directory, regex, ignoreparams, preload, cachetag
	Created    time.Time
	// Completed is when the task is done, Complete or Failed, by the
	// emulator's clock: Created plus Options.TaskDuration unless set.
	// Completed minus Created is the task's write-to-complete latency.
	Completed time.Time
	// Failed tasks answer Status Failed once Completed, with Description,
	// one of "InternalError", "OriginTimeout", "OriginReturnStatusCode 5XX"
	// (either spelling; each API answers its own).
	Failed      bool
	Description string

	delivered bool // its CDN event was posted
}

// Status returns the task's status at now: Pending for the first fifth of
// its duration, Refreshing until Completed, then Complete or Failed.
func (t *Task) Status(now time.Time) string {
	if now.Before(t.Completed) {
		if now.Before(t.Created.Add(t.Completed.Sub(t.Created) / 5)) {
			return statusPending
		}
		return statusRefreshing
	}
	if t.Failed {
		return statusFailed
	}
	return statusComplete
}

// process returns the task's progress at now, as a percentage string.
func (t *Task) process(now time.Time) string {
	switch t.Status(now) {
	case statusComplete:
		return "100%"
	case statusRefreshing:
		return fmt.Sprintf("%d%%", 100*now.Sub(t.Created)/t.Completed.Sub(t.Created))
	}
	return "0%"
}

// view renders t at time now as Describe*RefreshTasks (or, byID,
// Describe*RefreshTaskById) answers it.
func (t *Task) view(now time.Time, byID bool) map[string]any {
	desc := ""
	if t.Status(now) == statusFailed {
		desc = spellReason(t.Description, byID)
	}
	return map[string]any{
		"TaskId":       t.ID,
		"ObjectPath":   t.ObjectPath,
		"ObjectType":   t.ObjectType,
		"Status":       t.Status(now),
		"Process":      t.process(now),
		"CreationTime": t.Created.UTC().Format(timeFormat),
		"Description":  desc,
	}
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
		t.ObjectType = kindFile
	}
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	if t.Completed.IsZero() {
		t.Completed = t.Created.Add(max(s.taskDur, 0))
	}
	s.tasks = append(s.tasks, t)
	return t.ID
}

// FailTask marks every record of task id Failed with description, at once
// if it is not done yet, and reports whether there was any.
func (s *Server) FailTask(id, description string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	found := false
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.ID == id {
			t.Failed, t.Description = true, description
			if now.Before(t.Completed) {
				t.Completed = now
			}
			found = true
		}
	}
	return found
}

// Tasks returns every task record, oldest first.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tasks)
}

func (s *Server) newTaskIDLocked() string {
	s.nextTask++
	return strconv.FormatInt(s.nextTask, 10)
}

// mergedID is the task id that URL refreshes of one domain in one second
// share, and how many it holds.
type mergedID struct {
	id string
	n  int
}

// addTasksLocked records one task per target and returns the task ids of
// the call, comma-separated, as the API answers them. URL refreshes of a
// domain submitted in the same second share one id, a new one every 2,000
// URLs (seed 001, RefreshTaskId); other kinds get one id per domain.
func (s *Server) addTasksLocked(product, kind string, targets []target, domains []string, now time.Time) string {
	perCall := map[string]string{}
	var list []string
	idFor := func(domain string) string {
		if !urlKind(kind) {
			id, ok := perCall[domain]
			if !ok {
				id = s.newTaskIDLocked()
				perCall[domain] = id
			}
			return id
		}
		key := fmt.Sprintf("%s|%s|%s|%d", product, kind, domain, now.Unix())
		m := s.merge[key]
		if m == nil || m.n >= urlsPerTaskID {
			m = &mergedID{id: s.newTaskIDLocked()}
			s.merge[key] = m
		}
		m.n++
		return m.id
	}
	// Ids in the order of the call's domains.
	byDomain := map[string][]target{}
	for _, t := range targets {
		byDomain[t.domain] = append(byDomain[t.domain], t)
	}
	done := now.Add(max(s.taskDur, 0))
	for _, d := range domains {
		for _, t := range byDomain[d] {
			id := idFor(d)
			if !slices.Contains(list, id) {
				list = append(list, id)
			}
			rec := Task{
				ID: id, Product: product, Domain: d, ObjectPath: t.path, ObjectType: kind,
				Created: now, Completed: done,
			}
			if f := s.faults.TaskFail; f > 0 && s.rng.Float64() < f {
				rec.Failed = true
				rec.Description = failureReasons[s.rng.IntN(len(failureReasons))].list
			}
			s.tasks = append(s.tasks, rec)
		}
	}
	s.pruneLocked(now)
	return strings.Join(list, ",")
}

// pruneLocked drops tasks older than the three days the API keeps, and the
// merge slots of past seconds, so that a long benchmark does not grow
// without bound.
func (s *Server) pruneLocked(now time.Time) {
	if len(s.merge) > 1024 {
		for k := range s.merge {
			if !strings.HasSuffix(k, "|"+strconv.FormatInt(now.Unix(), 10)) {
				delete(s.merge, k)
			}
		}
	}
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
