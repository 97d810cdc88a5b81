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
		dir, _ := refresh.PrefixForm(o.Via)
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
	c, originLen := refresh.PrefixForm(j.URL)
	refresh.EachDir(c, originLen, self, func(dir string) bool {
		keys = append(keys, coverKey(j, true, dir))
		if !j.Force {
			keys = append(keys, coverKey(j, false, dir))
		}
		return true
	})
	return keys
}
