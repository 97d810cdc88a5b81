package webhook

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestGenericKinds: cache tags (alone or beside URLs), an Edge Routine and
// QueryHashkey in the generic API become fields of the changes; a bad tag
// is rejected alone with its reason.
func TestGenericKinds(t *testing.T) {
	t.Parallel()
	type change struct {
		URL, Tag, Routine, Merge string
		Action                   refresh.Action
		Hashkey, Force           bool
	}
	tests := []struct {
		name         string
		body         string
		want         []change
		wantRejected []Rejection
	}{
		{
			"tags on a domain",
			`{"tags":["product-42"," site "],"domain":"WWW.example.com"}`,
			[]change{{URL: "https://www.example.com/", Tag: "product-42"}, {URL: "https://www.example.com/", Tag: "site"}}, nil,
		},
		{
			"tags beside urls, on the default domain, forced",
			`{"urls":["https://www.example.com/a.html"],"tags":["t1"],"force":true}`,
			[]change{{URL: "https://www.example.com/a.html", Force: true}, {URL: "https://www.example.com/", Tag: "t1", Force: true}}, nil,
		},
		{
			"action both: tags refreshed only",
			`{"urls":["https://www.example.com/a.html"],"tags":["t1"],"action":"both"}`,
			[]change{
				{URL: "https://www.example.com/a.html", Action: refresh.ActionRefresh},
				{URL: "https://www.example.com/a.html", Action: refresh.ActionPrefetch},
				{URL: "https://www.example.com/", Tag: "t1"},
			}, nil,
		},
		{
			"bad tags rejected alone",
			`{"tags":["ok","","a,b","a\nb",7]}`,
			[]change{{URL: "https://www.example.com/", Tag: "ok"}},
			[]Rejection{
				{Field: "tags[1]", Reason: "empty cache tag"},
				{Field: "tags[2]", Tag: "a,b", Reason: "a cache tag cannot hold a comma: the API separates tags with commas"},
				{Field: "tags[3]", Tag: "a\nb", Reason: "a cache tag cannot hold a newline or another control character"},
				{Field: "tags[4]", Reason: "not a string"},
			},
		},
		{
			"tags on a foreign domain",
			`{"tags":["t"],"domain":"evil.example.net","urls":["https://www.example.com/a"]}`,
			[]change{{URL: "https://www.example.com/a"}},
			[]Rejection{{Field: "tags[0]", Tag: "t", Reason: "domain not allowed"}},
		},
		{
			"edge routine",
			`{"urls":["https://www.example.com/a"],"edge_routine":{"id":"pages.sub","merge_domains":["M.example.com"]}}`,
			[]change{{URL: "https://www.example.com/a", Routine: "pages.sub", Merge: "m.example.com"}}, nil,
		},
		{
			"query hashkey",
			`{"urls":["https://www.example.com/a"],"action":"prefetch","query_hashkey":true}`,
			[]change{{URL: "https://www.example.com/a", Action: refresh.ActionPrefetch, Hashkey: true}}, nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &fakeRunner{}
			h := newHandler(t, run, func(o *Options) {
				o.AuthNone = true
				o.AllowedDomain = func(h string) bool { return h == "www.example.com" }
			})
			w := post(h, "/refresh", []byte(tt.body), nil)
			if w.Code != http.StatusAccepted {
				t.Fatalf("POST %s: status %d, want 202; body %s", tt.body, w.Code, w.Body)
			}
			var got []change
			for _, c := range run.calls()[0].Changes {
				got = append(got, change{c.URL, c.Tag, c.EdgeRoutine, c.MergeDomains, c.Action, c.QueryHashkey, c.Force})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRejected, decodeAnswer(t, w).Rejected, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGenericKindsRefused: a request whose tags, edge routine or action
// cannot be right is refused with 400, naming the field.
func TestGenericKindsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field, msg string
	}{
		{"tags to prefetch", `{"tags":["t"],"action":"prefetch"}`, "action", "cache tags are refreshed, never prefetched"},
		{"tags without a domain", `{"tags":["t"]}`, "domain", "paths and tags need a domain"},
		{"routine id", `{"urls":["https://www.example.com/a"],"edge_routine":{"id":"nodot"}}`, "edge_routine.id", `edge routine "nodot" is not Name.Subdomain`},
		{"merge domain", `{"urls":["https://www.example.com/a"],"edge_routine":{"id":"a.b","merge_domains":["a/b"]}}`, "edge_routine.merge_domains", `"a/b" has a path`},
		{"unknown routine field", `{"urls":["https://www.example.com/a"],"edge_routine":{"id":"a.b","force":true}}`, "force", `unknown field "force"`},
		{"every tag rejected", `{"tags":["", "a,b"],"domain":"www.example.com"}`, "tags[0]", "no valid item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, &fakeRunner{}, func(o *Options) {
				o.AuthNone = true
				if tt.name == "tags without a domain" {
					o.Domain = ""
				}
			})
			w := post(h, "/refresh", []byte(tt.body), nil)
			e := decodeError(t, w)
			if w.Code != http.StatusBadRequest || e.Field != tt.field || !strings.Contains(e.Error, tt.msg) {
				t.Errorf("POST %s = %d %+v, want 400 on field %q saying %q", tt.body, w.Code, e, tt.field, tt.msg)
			}
		})
	}
}
