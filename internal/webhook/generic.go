package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// genericRequest is the body of POST /refresh.
type genericRequest struct {
	URLs   []json.RawMessage `json:"urls"`
	Paths  []json.RawMessage `json:"paths"`
	Tags   []json.RawMessage `json:"tags"`
	Domain string            `json:"domain"`
	Bucket string            `json:"bucket"`
	Keys   []json.RawMessage `json:"keys"`
	Op     string            `json:"op"`
	Action string            `json:"action"`
	Type   string            `json:"type"`
	Force  bool              `json:"force"`
	// EdgeRoutine also refreshes the URLs in an Edge Routine's cache
	// (DCDN domains); QueryHashkey is the prefetches' (CDN domains).
	EdgeRoutine  *edgeRoutine `json:"edge_routine"`
	QueryHashkey bool         `json:"query_hashkey"`
}

// edgeRoutine names the Edge Routine of a request: its RoutineId and the
// domains merged for the refresh.
type edgeRoutine struct {
	ID           string   `json:"id"`
	MergeDomains []string `json:"merge_domains"`
}

// generic decodes the generic API: URLs, paths on a domain, or object
// keys in a bucket. Items are checked one by one; the bad ones are
// rejected and the rest kept.
func (d *decoder) generic(body []byte, _ meta) (decoded, error) {
	out := decoded{strict: true}
	var req genericRequest
	if err := decodeStrict(body, &req); err != nil {
		return out, err
	}
	n := len(req.URLs) + len(req.Paths) + len(req.Keys) + len(req.Tags)
	if n == 0 {
		return out, badRequest("urls", "nothing to refresh: give urls, paths (with domain), tags (with domain), or bucket and keys")
	}
	// A count error names the longest list (the first of equals).
	field, most := "urls", len(req.URLs)
	for _, f := range []struct {
		name string
		n    int
	}{{"paths", len(req.Paths)}, {"keys", len(req.Keys)}, {"tags", len(req.Tags)}} {
		if f.n > most {
			field, most = f.name, f.n
		}
	}
	if err := d.checkCount(n, field); err != nil {
		return out, err
	}
	var p params
	var err error
	if p.actions, err = parseAction(req.Action, "action"); err != nil {
		return out, err
	}
	if p.objectType, err = parseType(req.Type, "type"); err != nil {
		return out, err
	}
	p.force = req.Force
	p.queryHashkey = req.QueryHashkey
	if er := req.EdgeRoutine; er != nil {
		if err := refresh.CheckRoutine(er.ID); err != nil {
			return out, badRequest("edge_routine.id", "%v", err)
		}
		if p.mergeDomains, err = refresh.MergeDomains(er.MergeDomains); err != nil {
			return out, badRequest("edge_routine.merge_domains", "%v", err)
		}
		p.edgeRoutine = er.ID
	}
	if len(req.Tags) > 0 && len(p.actions) == 1 && p.actions[0] == refresh.ActionPrefetch {
		return out, badRequest("action", "cache tags are refreshed, never prefetched")
	}
	op := refresh.OpCreate
	switch strings.ToLower(req.Op) {
	case "", "create":
	case "delete":
		op = refresh.OpDelete
		if len(p.actions) == 1 && p.actions[0] == refresh.ActionPrefetch {
			return out, badRequest("action", "a deleted object cannot be prefetched")
		}
	default:
		return out, badRequest("op", "%q is not one of create, delete", req.Op)
	}

	for i, raw := range req.URLs {
		where := Rejection{Field: fmt.Sprintf("urls[%d]", i)}
		u, ok := jsonString(raw)
		if !ok {
			where.Reason = reasonNoString
			out.rejected = append(out.rejected, where)
			continue
		}
		d.addURL(&out, u, op, p, where)
	}

	if len(req.Paths) > 0 || len(req.Tags) > 0 {
		domain := strings.ToLower(strings.TrimSpace(req.Domain))
		if domain == "" {
			domain = d.domain
		}
		if domain == "" {
			return out, badRequest("domain", "paths and tags need a domain: give \"domain\", or set webhook.domain")
		}
		if err := refresh.CheckHost(domain); err != nil {
			return out, badRequest("domain", "%v", err)
		}
		d.addTags(&out, req.Tags, domain, op, p)
		for i, raw := range req.Paths {
			where := Rejection{Field: fmt.Sprintf("paths[%d]", i)}
			s, ok := jsonString(raw)
			switch {
			case !ok:
				where.Reason = reasonNoString
			case s == "":
				where.Reason = "empty path"
			case strings.Contains(s, "://"):
				where.Path, where.Reason = s, "a URL, not a path: give it in urls"
			}
			if where.Reason != "" {
				out.rejected = append(out.rejected, where)
				continue
			}
			if !strings.HasPrefix(s, "/") {
				s = "/" + s
			}
			d.addURL(&out, "https://"+domain+s, op, p, where)
		}
	}

	if len(req.Keys) > 0 {
		if strings.TrimSpace(req.Bucket) == "" {
			return out, badRequest("bucket", "keys need a bucket")
		}
		for i, raw := range req.Keys {
			where := Rejection{Field: fmt.Sprintf("keys[%d]", i)}
			k, ok := jsonString(raw)
			switch {
			case !ok:
				where.Reason = reasonNoString
			case k == "":
				where.Reason = "empty key"
			case !utf8.ValidString(k):
				where.Reason = "not valid UTF-8"
			}
			if where.Reason != "" {
				where.Key = k
				out.rejected = append(out.rejected, where)
				continue
			}
			d.add(&out, refresh.Change{Bucket: req.Bucket, Key: k, Op: op}, p)
		}
	}
	return out, nil
}

// addTags adds a change per cache tag of domain, or records why a tag is
// rejected. Tags are refreshed only: of the actions of p, only refresh.
func (d *decoder) addTags(out *decoded, tags []json.RawMessage, domain string, op refresh.Op, p params) {
	p.actions = nil // the rules' action for a tag is refresh
	u := "https://" + domain + "/"
	allowed := d.allowed == nil || d.allowed(refresh.Host(u))
	for i, raw := range tags {
		where := Rejection{Field: fmt.Sprintf("tags[%d]", i)}
		t, ok := jsonString(raw)
		switch {
		case !ok:
			where.Reason = reasonNoString
		case !allowed:
			where.Reason = reasonDomain
		default:
			if err := refresh.CheckTag(t); err != nil {
				where.Reason = err.Error()
			}
		}
		if where.Reason != "" {
			where.Tag = t
			out.rejected = append(out.rejected, where)
			continue
		}
		d.add(out, refresh.Change{URL: u, Tag: t, Op: op}, p)
	}
}

// jsonString decodes a JSON string; ok is false for any other value.
func jsonString(raw json.RawMessage) (string, bool) {
	if refresh.JSONKind(raw) != "string" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return strings.TrimSpace(s), true
}
