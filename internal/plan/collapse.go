package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// collapseKey is what files sharing one collapsed directory have in common.
type collapseKey struct {
	provider refresh.Provider
	force    bool
	area     string
	l2       bool
	origin   string // canonical scheme://host
}

// target is a picked directory and the files it would carry.
type target struct {
	key   groupKey // of the Directory call
	url   string
	files []*item
}

// collapse replaces pending File refresh items by Directory refresh items
// following the rule documented on Planner.CollapseThreshold, within
// directory quota *n. It returns the new directory items, admitted.
func collapse(files []*item, threshold int, n *int) []*item {
	groups := make(map[collapseKey][]*item)
	var order []collapseKey
	for _, f := range files {
		if f.state != statePending || f.key.objectType != refresh.File || f.originLen == len(f.canon) || f.key.routine != "" {
			continue // no path, no directory; Edge Routine caches are left as asked
		}
		k := collapseKey{f.key.provider, f.key.force, f.key.area, f.key.l2, f.canon[:f.originLen]}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f)
	}
	var targets []target
	for _, k := range order {
		if g := groups[k]; len(g) >= threshold {
			targets = append(targets, pick(k, g, threshold)...)
		}
	}
	slices.SortFunc(targets, func(a, b target) int {
		if c := cmp.Compare(len(b.files), len(a.files)); c != 0 {
			return c
		}
		if c := strings.Compare(a.url, b.url); c != 0 {
			return c
		}
		return compareKeys(a.key, b.key)
	})
	var out []*item
	for _, t := range targets {
		if *n <= 0 {
			break
		}
		if *n != refresh.Unlimited {
			*n--
		}
		d := &item{key: t.key, url: t.url, state: stateAdmitted, first: -1} // no job of its own
		d.note = fmt.Sprintf("collapsed %s under %s (threshold %d)", urls(len(t.files)), t.url, threshold)
		for _, f := range t.files {
			f.state = stateCovered
			d.carries(f)
		}
		out = append(out, d)
	}
	return out
}

// pick applies the collapse rule to the files of one group.
func pick(k collapseKey, files []*item, threshold int) []target {
	originLen := len(k.origin)
	count := make(map[string]int)
	for _, f := range files {
		refresh.EachDir(f.canon, f.originLen, true, func(dir string) bool {
			count[dir]++
			return true
		})
	}
	var cands []string
	for dir, c := range count {
		if c >= threshold {
			cands = append(cands, dir)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	slices.SortFunc(cands, func(a, b string) int {
		if c := cmp.Compare(depth(b, originLen), depth(a, originLen)); c != 0 {
			return c // deepest first
		}
		return strings.Compare(a, b)
	})
	claimed := make(map[string]int) // files beneath a directory already claimed by a deeper pick
	picked := make(map[string]bool)
	for _, dir := range cands {
		free := count[dir] - claimed[dir]
		if free < threshold {
			continue
		}
		picked[dir] = true
		refresh.EachDir(dir, originLen, false, func(up string) bool {
			claimed[up] += free
			return true
		})
	}
	byDir := make(map[string][]*item)
	for _, f := range files {
		refresh.EachDir(f.canon, f.originLen, true, func(dir string) bool {
			if picked[dir] {
				byDir[dir] = append(byDir[dir], f)
				return false
			}
			return true
		})
	}
	key := dirKey(k)
	out := make([]target, 0, len(byDir))
	for dir, fs := range byDir {
		out = append(out, target{key: key, url: dir, files: fs})
	}
	return out
}

// compareKeys orders group keys by provider, action, object type, force,
// area and L2 preload.
func compareKeys(a, b groupKey) int {
	return cmp.Or(
		strings.Compare(string(a.provider), string(b.provider)),
		strings.Compare(string(a.action), string(b.action)),
		strings.Compare(string(a.objectType), string(b.objectType)),
		compareBool(a.force, b.force),
		strings.Compare(a.area, b.area),
		compareBool(a.l2, b.l2),
	)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
