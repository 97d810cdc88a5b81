package refresh

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Cache tags and Edge Routines: the words of the refresh kinds that are
// not URL lists.
//
// RefreshObjectCacheByCacheTag takes DomainName and CacheTag, "the tags,
// separated by commas (,)" (seed 000); RefreshErObjectCaches takes
// RoutineId, "in the format of Name.Subdomain", and MergeDomainName,
// domains separated by commas (seed 003).

// Reasons a cache tag is refused.
var (
	errTagEmpty   = errors.New("empty cache tag")
	errTagComma   = errors.New("a cache tag cannot hold a comma: the API separates tags with commas")
	errTagControl = errors.New("a cache tag cannot hold a newline or another control character")
	errTagUTF8    = errors.New("cache tag is not valid UTF-8")
)

// CheckTag returns why tag cannot be sent as a cache tag, or nil: it is
// empty, holds a comma (the separator of CacheTag), a newline or another
// control character, or is not valid UTF-8.
func CheckTag(tag string) error {
	switch {
	case strings.TrimSpace(tag) == "":
		return errTagEmpty
	case !utf8.ValidString(tag):
		return errTagUTF8
	case strings.Contains(tag, ","):
		return errTagComma
	case strings.ContainsFunc(tag, unicode.IsControl):
		return errTagControl
	}
	return nil
}

// DomainURL is the URL a cache-tag job names its domain by,
// https://HOSTNAME/: the tag APIs take a domain name, so neither the
// scheme nor a port of u matters, and one spelling keeps one domain's
// tags together.
func DomainURL(u string) string { return "https://" + Hostname(u) + "/" }

// deletes reports whether j says its URL's object is gone, which cancels
// an older prefetch of the URL: a delete's job, unless it is a cache-tag
// job, whose URL names only its domain.
func (j Job) deletes() bool { return j.Op == OpDelete && j.ObjectType != CacheTag }

// CheckRoutine returns why id is not an Edge Routine id, "Name.Subdomain"
// (seed 003, RoutineId), or nil.
func CheckRoutine(id string) error {
	name, sub, ok := strings.Cut(id, ".")
	if !ok || name == "" || sub == "" || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r == ',' || r == '/' || r == 0x7f
	}) {
		return fmt.Errorf("edge routine %q is not Name.Subdomain", id)
	}
	return nil
}

// MergeDomains checks the domains an Edge Routine refresh merges
// (MergeDomainName) and returns them as the API takes them: lower case,
// comma-separated, each once.
func MergeDomains(domains []string) (string, error) {
	var out []string
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if err := CheckHost(d); err != nil {
			return "", fmt.Errorf("merge domain: %w", err)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return strings.Join(out, ","), nil
}

// Size is how many paths c sends: its cache tags, else its URLs. A call
// refused for some of its paths is rejected whole only at size 1.
func (c Call) Size() int {
	if c.ObjectType == CacheTag {
		return len(c.Tags)
	}
	return len(c.URLs)
}

// halveTags splits a cache-tag call's tags in two, each half carrying the
// jobs of its tags.
func halveTags(c Call) (Call, Call) {
	mid := len(c.Tags) / 2
	a, b := c, c
	a.Tags, b.Tags = c.Tags[:mid:mid], c.Tags[mid:]
	a.Jobs, b.Jobs = nil, nil
	for _, j := range c.Jobs {
		if slices.Contains(a.Tags, j.Tag) {
			a.Jobs = append(a.Jobs, j)
		} else {
			b.Jobs = append(b.Jobs, j)
		}
	}
	return a, b
}
