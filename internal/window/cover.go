package window

import (
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// cover is a directory refresh submitted within the dedupe TTL: it carries
// out every later file job beneath it that it would have carried in the
// same call.
type cover struct {
	dir    string // the directory URL, as the flush's outcome named it (Via)
	taskID string
	// at is when the flush that sent it started: it carries out only
	// changes made by then (a later one may have been fetched again by an
	// edge after the refresh).
	at    time.Time
	until time.Time
}

// carries reports whether v, live at now, carries out j.
func (v cover) carries(j refresh.Job, now time.Time) bool {
	return now.Before(v.until) && !j.ChangeTime.After(v.at)
}

// coveredOutcome is the outcome of a job that cover v carries out.
func coveredOutcome(j refresh.Job, v cover) refresh.Outcome {
	return refresh.Outcome{Job: j, Status: refresh.Duplicate, TaskID: v.taskID, Via: v.dir}
}

// coverKey names the covers of directory dir (a canonical URL) for jobs of
// j's provider, area, L2 preload and Edge Routine, by a refresh that
// forces or not. Free-form values are length-prefixed, and the directory
// comes last, so that no two covers share a key.
func coverKey(j refresh.Job, force bool, dir string) string {
	var b strings.Builder
	b.WriteString(string(j.Provider.OrDefault()))
	b.WriteString("|force=")
	b.WriteString(strconv.FormatBool(force))
	b.WriteString("|l2=")
	b.WriteString(strconv.FormatBool(j.L2Preload))
	for _, f := range [...]struct{ name, v string }{{"area", j.Area}, {"routine", j.Routine}, {"merge", j.MergeDomains}} {
		if f.v != "" {
			b.WriteString("|" + f.name + "=" + strconv.Itoa(len(f.v)) + ":" + f.v)
		}
	}
	b.WriteString("|")
	b.WriteString(dir)
	return b.String()
}

// coversOf returns, by key, the covers that a flush's outcomes record: one
// for each directory whose refresh was submitted, valid until until.
// Every Submitted outcome with a Via names such a directory, with the
// fields of a job it carried (a file job forcing less than its directory
// records a cover that forces less: it claims no more than was done).
func coversOf(jobs []refresh.Job, outs []refresh.Outcome, at, until time.Time) map[string]cover {
	var m map[string]cover
	for i, o := range outs {
		if o.Status != refresh.Submitted || o.Via == "" {
			continue
		}
		if m == nil {
			m = make(map[string]cover)
		}
		dir, _ := canonical(o.Via)
		m[coverKey(jobs[i], jobs[i].Force, dir)] = cover{dir: o.Via, taskID: o.TaskID, at: at, until: until}
	}
	return m
}

// coverCandidates returns the keys of the covers that would carry out j,
// shallowest directory first, or nil if no cover can: only refreshes of
// files (File, IgnoreParams) and of directories strictly beneath the
// cover's are carried; prefetch, Regex and cache-tag jobs never are. A
// forcing job is carried only by a forcing cover.
func coverCandidates(j refresh.Job) []string {
	if j.Action != refresh.ActionRefresh || j.Op == refresh.OpDelete {
		return nil // a delete's refresh is work apart (refresh.Job.DedupeKey)
	}
	self := true
	switch j.ObjectType {
	case refresh.File, refresh.IgnoreParams, "":
	case refresh.Directory:
		self = false
	default:
		return nil
	}
	var keys []string
	c, originLen := canonical(j.URL)
	eachDir(c, originLen, self, func(dir string) {
		keys = append(keys, coverKey(j, true, dir))
		if !j.Force {
			keys = append(keys, coverKey(j, false, dir))
		}
	})
	return keys
}

// canonical returns u with its scheme and host in lower case and without
// its query or fragment, and the length of that origin part: directory
// prefixes are compared in this form. u may lack a scheme.
func canonical(u string) (c string, originLen int) {
	hostStart := 0
	if i := strings.Index(u, "://"); i >= 0 && !strings.ContainsAny(u[:i], "/?#") {
		hostStart = i + len("://")
	}
	pathStart := len(u)
	if i := strings.IndexAny(u[hostStart:], "/?#"); i >= 0 {
		pathStart = hostStart + i
	}
	pathEnd := len(u)
	if i := strings.IndexAny(u[pathStart:], "?#"); i >= 0 {
		pathEnd = pathStart + i
	}
	origin := strings.ToLower(u[:pathStart])
	return origin + u[pathStart:pathEnd], len(origin)
}

// eachDir calls f with every directory prefix of the canonical URL c, whose
// origin is originLen bytes long, shallowest first: "https://d/",
// "https://d/a/", ... A prefix equal to c itself (c ends in "/") is passed
// only if self is true.
func eachDir(c string, originLen int, self bool, f func(dir string)) {
	for i := originLen; i < len(c); i++ {
		if c[i] != '/' {
			continue
		}
		if i == len(c)-1 && !self {
			return
		}
		f(c[:i+1])
	}
}
