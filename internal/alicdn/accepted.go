package alicdn

import (
	"context"
	"fmt"
	"sort"

	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Accepted reads at most twice as many task pages of a domain as its URLs
// fill, plus acceptedSlack pages for other tasks of the time, and never
// more than maxAcceptedPages.
const (
	acceptedSlack    = 5
	maxAcceptedPages = 200
)

// taskObjectType returns how DescribeRefreshTasks names the tasks of
// action a and object type t (its ObjectType filter: file, directory,
// regex, preload), or "" when it names none.
func taskObjectType(a refresh.Action, t refresh.ObjectType) string {
	if a == refresh.ActionPrefetch {
		return "preload"
	}
	switch t {
	case refresh.File, "":
		return "file"
	case refresh.Directory:
		return "directory"
	case refresh.Regex:
		return "regex"
	}
	return ""
}

// Accepted returns which of urls the API accepted as tasks of provider p,
// action a and object type t created since since, with their task ids:
// the answer to a call that was sent and not answered. It lists each
// domain's tasks of that type (DescribeRefreshTasks, 100 a page, newest
// first, about twice the pages its URLs fill), so that a call of 1,000
// URLs costs a score of lookups, not a thousand. Kinds the task API does not list (IgnoreParams)
// are never found: they are sent again.
func (c *Client) Accepted(ctx context.Context, p refresh.Provider, a refresh.Action, t refresh.ObjectType, urls []string, since time.Time) (map[string]string, error) {
	typ := taskObjectType(a, t)
	if typ == "" || len(urls) == 0 {
		return map[string]string{}, nil
	}
	want := map[string]map[string]bool{} // domain -> URLs
	for _, u := range urls {
		d := refresh.Hostname(u)
		if want[d] == nil {
			want[d] = map[string]bool{}
		}
		want[d][u] = true
	}
	domains := make([]string, 0, len(want))
	for d := range want {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	size := refresh.TasksPageSize(p)
	found := map[string]string{}
	for _, d := range domains {
		left := len(want[d])
		pages := min(maxAcceptedPages, 2*(left+size-1)/size+acceptedSlack)
		for page := 1; page <= pages && left > 0; page++ {
			got, err := c.Tasks(ctx, p, refresh.TaskQuery{ObjectType: typ, Domain: d, Start: since, Page: page, PageSize: size})
			if err != nil {
				return found, fmt.Errorf("look up the %s tasks of %s since %s: %w", typ, d, since.UTC().Format(time.RFC3339), err)
			}
			for _, task := range got.Tasks {
				if want[d][task.ObjectPath] && found[task.ObjectPath] == "" {
					found[task.ObjectPath] = task.ID
					left--
				}
			}
			if len(got.Tasks) < size || page*size >= got.Total {
				break
			}
		}
	}
	return found, nil
}
