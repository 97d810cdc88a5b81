package plan

import (
	"fmt"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// This file is compiled only into the tests, which check every call the
// planner forms against the API's documented limits.

// Validate reports whether c is a call the API accepts under limits l: a
// known API matching its provider and action, an object type the action
// takes, 1 to the per-call limit of paths, each non-empty, at most
// MaxPathLength bytes, on one line, not repeated, directories ending in
// "/", and at most the per-call number of distinct domain names. A zero
// field of l means its default. The error names the first problem found.
func Validate(c refresh.Call, l Limits) error {
	l = l.withDefaults()
	want := refresh.APIFor(c.Provider, c.Action, c.ObjectType, c.Routine != "")
	if want == "" {
		return fmt.Errorf("call %q: no API for provider %q, action %q, object type %q, routine %q", c.API, c.Provider, c.Action, c.ObjectType, c.Routine)
	}
	if c.API != want {
		return fmt.Errorf("call %q: %s %s %s needs API %q", c.API, c.Provider, c.Action, c.ObjectType, want)
	}
	switch {
	case c.Action == refresh.ActionPrefetch && c.ObjectType != "":
		return fmt.Errorf("%s call: object type %q given, want none for prefetch", c.API, c.ObjectType)
	case c.Action == refresh.ActionRefresh && !knownType(c.ObjectType):
		return fmt.Errorf("%s call: unknown object type %q", c.API, c.ObjectType)
	}
	switch c.Area {
	case "", "domestic", "overseas":
	default:
		return fmt.Errorf("%s call: unknown area %q, want domestic, overseas or none", c.API, c.Area)
	}
	if len(c.URLs) == 0 {
		return fmt.Errorf("%s call: no paths", c.API)
	}
	if limit := l.perCall(c.API, c.ObjectType); c.Size() > limit {
		return fmt.Errorf("%s call: %d %s paths, over the per-call limit of %d", c.API, c.Size(), kind(c), limit)
	}
	if c.ObjectType == refresh.CacheTag {
		if len(c.Tags) == 0 || len(c.URLs) != 1 {
			return fmt.Errorf("%s call: %d tags on %d domain URLs, want tags on one", c.API, len(c.Tags), len(c.URLs))
		}
		for i, tag := range c.Tags {
			if err := refresh.CheckTag(tag); err != nil {
				return fmt.Errorf("%s call: tag %d %q: %v", c.API, i, tag, err)
			}
			if i > 0 && c.Tags[i-1] == tag {
				return fmt.Errorf("%s call: tag %q appears twice", c.API, tag)
			}
		}
	}
	seen := make(map[string]bool, len(c.URLs))
	hosts := make(map[string]bool)
	for i, u := range c.URLs {
		switch {
		case u == "":
			return fmt.Errorf("%s call: path %d is empty", c.API, i)
		case len(u) > MaxPathLength:
			return fmt.Errorf("%s call: path %d is %d bytes long, over the limit of %d", c.API, i, len(u), MaxPathLength)
		case strings.ContainsAny(u, "\r\n"):
			return fmt.Errorf("%s call: path %d %q contains a line break", c.API, i, u)
		case seen[u]:
			return fmt.Errorf("%s call: path %q appears twice", c.API, u)
		case c.ObjectType == refresh.Directory && !strings.HasSuffix(u, "/"):
			return fmt.Errorf("%s call: directory %q does not end with /", c.API, u)
		}
		seen[u] = true
		h := refresh.Hostname(u)
		if h == "" {
			return fmt.Errorf("%s call: path %q names no domain", c.API, u)
		}
		hosts[h] = true
	}
	if limit := l.domains(c.API); len(hosts) > limit {
		return fmt.Errorf("%s call: %d distinct domains, over the per-call limit of %d", c.API, len(hosts), limit)
	}
	return nil
}

func knownType(t refresh.ObjectType) bool {
	switch t {
	case refresh.File, refresh.Directory, refresh.Regex, refresh.IgnoreParams, refresh.CacheTag:
		return true
	}
	return false
}

// kind names what the paths of c are, for error messages.
func kind(c refresh.Call) string {
	if c.Action == refresh.ActionPrefetch {
		return "prefetch"
	}
	return string(c.ObjectType)
}
