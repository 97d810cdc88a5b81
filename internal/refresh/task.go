package refresh

import (
	"strings"
	"time"
)

// TaskQuery selects refresh and prefetch tasks (DescribeRefreshTasks,
// DescribeDcdnRefreshTasks). Every field is optional; ObjectType (file,
// directory, regex or preload; any case) is required when Domain or Status
// is set. The API keeps the last three days only.
type TaskQuery struct {
	TaskID     string
	ObjectPath string // exact match
	ObjectType string
	Domain     string
	Status     string // Complete, Refreshing or Failed
	Start, End time.Time
	Page       int // from 1; 0 = 1
	PageSize   int // 0 = 20; at most 100 (CDN) or 50 (DCDN)
}

// TaskPage is one page of tasks.
type TaskPage struct {
	Tasks    []Task
	Total    int
	Page     int
	PageSize int
}

// Task is one refresh or prefetch task record, as the task APIs answer it:
// one object path of one task.
type Task struct {
	ID          string
	ObjectPath  string
	ObjectType  string // file, directory, regex, preload
	Status      string // Complete, Refreshing, Failed (ById also Pending)
	Process     string // "100%"
	Description string // failure reason, e.g. OriginTimeout
	Created     time.Time
}

// Task statuses, as DescribeRefreshTasks and DescribeRefreshTaskById spell
// them.
const (
	TaskPending    = "Pending"
	TaskRefreshing = "Refreshing"
	TaskComplete   = "Complete"
	TaskFailed     = "Failed"
)

// TaskIDs returns the task ids of s, a comma-separated list as a call's
// answer gives them (Submit returns the RefreshTaskId or PushTaskId).
func TaskIDs(s string) []string {
	var ids []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// TaskProgress reads the records of one task, one per object path: done
// when there are records and each is Complete or Failed, and the Failed
// ones. A task is complete when it is done and none failed.
func TaskProgress(recs []Task) (done bool, failed []Task) {
	done = len(recs) > 0
	for _, r := range recs {
		switch r.Status {
		case TaskFailed:
			failed = append(failed, r)
		case TaskComplete:
		default:
			done = false
		}
	}
	return done, failed
}

// PreloadDetail is the per-URL outcome of one prefetch task.
type PreloadDetail struct {
	Total   int
	Domains []PreloadDomain
}

// PreloadDomain is a prefetch task's part for one domain.
type PreloadDomain struct {
	TaskID, Domain, Status, Process, RetCode string
	Created, Ended                           time.Time
	URLs                                     []PreloadURL
}

// PreloadURL is one URL's prefetch outcome.
type PreloadURL struct {
	URL         string // path, e.g. /abc.jpg
	Success     string // e.g. "100%"
	Description string // "Successfully preloaded" or reasons joined by |
}

// TasksPageSize is the largest page of provider p's task listing: 100 for
// DescribeRefreshTasks, 50 for DescribeDcdnRefreshTasks.
func TasksPageSize(p Provider) int {
	if p.OrDefault() == DCDN {
		return 50
	}
	return 100
}
