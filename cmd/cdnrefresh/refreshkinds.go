package main

import (
	"flag"
	"fmt"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// kindFlags are the refresh command's flags for what is not a list of
// URLs: cache tags on a domain, an Edge Routine's cache, prefetch in hash
// key query mode.
type kindFlags struct {
	tags    []string
	domain  *string
	routine *string
	hashkey *bool
}

func addKindFlags(fs *flag.FlagSet) *kindFlags {
	k := &kindFlags{}
	fs.Func("tag", "refresh what the CDN cached under cache tag `TAG` on --domain (repeatable); URLs then come only from --file", func(t string) error {
		k.tags = append(k.tags, t)
		return nil
	})
	k.domain = fs.String("domain", "", "the `DOMAIN` whose cache --tag names")
	k.routine = fs.String("edge-routine", "", "also refresh the URLs in the cache of Edge Routine `NAME.SUBDOMAIN` (DCDN domains)")
	k.hashkey = fs.Bool("query-hashkey", false, "prefetch in hash key query mode (PushObjectCache QueryHashkey; CDN domains)")
	return k
}

// check refuses --tag without --domain or with --prefetch, --domain
// without --tag, and a malformed domain or routine.
func (k *kindFlags) check(prefetch bool) error {
	switch {
	case len(k.tags) > 0 && *k.domain == "":
		return fmt.Errorf("--tag needs --domain: the domain whose cache the tags name")
	case len(k.tags) > 0 && prefetch:
		return fmt.Errorf("--tag refreshes: a cache tag cannot be prefetched (drop --prefetch)")
	case *k.domain != "" && len(k.tags) == 0:
		return fmt.Errorf("--domain is the domain of --tag: give URLs with their domain instead")
	}
	if *k.domain != "" {
		if err := refresh.CheckHost(*k.domain); err != nil {
			return fmt.Errorf("--domain: %w", err)
		}
	}
	if *k.routine != "" {
		if err := refresh.CheckRoutine(*k.routine); err != nil {
			return fmt.Errorf("--edge-routine: %w", err)
		}
	}
	return nil
}

// needURLs reports whether URLs are to be read: always, except with --tag
// and no --file.
func (k *kindFlags) needURLs(file string) bool { return len(k.tags) == 0 || file != "" }

// tagEvent is the event of the --tag changes (none without --tag).
func (k *kindFlags) tagEvent(force bool) refresh.Event {
	var ev refresh.Event
	for _, t := range k.tags {
		ev.Changes = append(ev.Changes, refresh.Change{Source: "cli", URL: "https://" + *k.domain + "/", Tag: t, Op: refresh.OpCreate, Force: force})
	}
	return ev
}

// apply sets the Edge Routine and QueryHashkey of a URL's change.
func (k *kindFlags) apply(c refresh.Change) refresh.Change {
	c.EdgeRoutine, c.QueryHashkey = *k.routine, *k.hashkey
	return c
}
