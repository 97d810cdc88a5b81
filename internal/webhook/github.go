package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// GitHub says how the files of a GitHub push become objects or URLs.
type GitHub struct {
	// Bucket receives the repository's files: a changed file
	// StripPrefix+rest becomes the key Prefix+rest in Bucket, and the rules
	// map it as they map OSS events. Without a bucket, Prefix+rest is a
	// path on Options.Domain.
	Bucket      string
	Prefix      string
	StripPrefix string
	// Branches are the branches whose pushes count (default: the
	// repository's default branch, as the payload names it).
	Branches []string
}

type githubPush struct {
	Ref        string `json:"ref"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
		MasterBranch  string `json:"master_branch"`
	} `json:"repository"`
	Commits    []githubCommit `json:"commits"`
	HeadCommit *githubCommit  `json:"head_commit"`
}

type githubCommit struct {
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Modified []string `json:"modified"`
}

// github decodes a GitHub push: the files its commits added, modified and
// removed, each with its last operation. A tag push, a branch deletion, a
// push to another branch and a push that lists no files need nothing.
func (d *decoder) github(body []byte, m meta) (decoded, error) {
	var out decoded
	p, _, err := hookInput(body, m)
	if err != nil {
		return out, err
	}
	event := m.header.Get("X-GitHub-Event")
	if event != "" && event != "push" {
		out.ignored = append(out.ignored, refresh.Ignored{Key: event, Reason: fmt.Sprintf("GitHub %s event: only push events are handled", event)})
		return out, nil
	}
	var push githubPush
	if err := json.Unmarshal(body, &push); err != nil {
		return out, jsonError(err)
	}
	if push.Ref == "" {
		return out, badRequest("ref", "missing: not a push event")
	}
	branch, ok := strings.CutPrefix(push.Ref, "refs/heads/")
	switch {
	case strings.HasPrefix(push.Ref, "refs/tags/"):
		out.ignored = append(out.ignored, refresh.Ignored{Key: push.Ref, Reason: "tag push"})
		return out, nil
	case !ok:
		out.ignored = append(out.ignored, refresh.Ignored{Key: push.Ref, Reason: "not a branch"})
		return out, nil
	case push.Deleted:
		out.ignored = append(out.ignored, refresh.Ignored{Key: push.Ref, Reason: "branch deleted"})
		return out, nil
	}
	if want := d.branches(push); len(want) > 0 && !slices.Contains(want, branch) {
		out.ignored = append(out.ignored, refresh.Ignored{Key: push.Ref,
			Reason: fmt.Sprintf("branch %s is not deployed (deployed: %s)", branch, strings.Join(want, ", "))})
		return out, nil
	}

	commits := push.Commits
	if len(commits) == 0 && push.HeadCommit != nil {
		commits = []githubCommit{*push.HeadCommit}
	}
	last := map[string]refresh.Op{}
	var order []string
	set := func(files []string, op refresh.Op) {
		for _, f := range files {
			if _, seen := last[f]; !seen {
				order = append(order, f)
			}
			last[f] = op
		}
	}
	for _, c := range commits {
		set(c.Added, refresh.OpCreate)
		set(c.Modified, refresh.OpCreate)
		set(c.Removed, refresh.OpDelete)
	}
	if len(order) == 0 {
		out.ignored = append(out.ignored, refresh.Ignored{Key: push.Ref, Reason: "push lists no files"})
		return out, nil
	}
	if err := d.checkCount(len(order), "commits"); err != nil {
		return out, err
	}
	gh := d.gh
	for _, f := range order {
		switch {
		case f == "" || !utf8.ValidString(f):
			out.rejected = append(out.rejected, Rejection{Key: f, Reason: "not a file path"})
			continue
		case !strings.HasPrefix(f, gh.StripPrefix):
			out.ignored = append(out.ignored, refresh.Ignored{Key: f, Reason: fmt.Sprintf("outside %s", gh.StripPrefix)})
			continue
		}
		key := gh.Prefix + strings.TrimPrefix(f, gh.StripPrefix)
		switch {
		case gh.Bucket != "":
			d.add(&out, refresh.Change{Bucket: gh.Bucket, Key: key, Op: last[f]}, p)
		case d.domain != "":
			d.addURL(&out, "https://"+d.domain+"/"+refresh.EscapePath(strings.TrimPrefix(key, "/")), last[f], p, Rejection{Key: f})
		default:
			out.ignored = append(out.ignored, refresh.Ignored{Key: f, Reason: "no bucket or domain is configured for GitHub pushes"})
		}
	}
	return out, nil
}

// branches are the branches whose pushes count.
func (d *decoder) branches(push githubPush) []string {
	if len(d.gh.Branches) > 0 {
		return d.gh.Branches
	}
	for _, b := range []string{push.Repository.DefaultBranch, push.Repository.MasterBranch} {
		if b != "" {
			return []string{b}
		}
	}
	return nil
}
