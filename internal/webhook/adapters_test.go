package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// chg is the part of a refresh.Change an adapter decides.
type chg struct {
	URL, Bucket, Key string
	Op               refresh.Op
	Action           refresh.Action
}

func changesOf(evs []refresh.Event) []chg {
	var out []chg
	for _, ev := range evs {
		for _, c := range ev.Changes {
			out = append(out, chg{c.URL, c.Bucket, c.Key, c.Op, c.Action})
		}
	}
	return out
}

const (
	create = refresh.OpCreate
	del    = refresh.OpDelete
)

func TestAdapters(t *testing.T) {
	t.Parallel()
	articles := map[string]Template{"article": {
		URLs:          []string{"/{locale}/blog/{slug}/", "/{locale}/blog/"},
		DefaultLocale: "en", HideDefaultLocale: true,
	}}
	blogPosts := map[string]Template{"blogPost": {
		URLs:    []string{"/{locale}/posts/{slug}/"},
		Locales: map[string]string{"en-US": "en", "de-DE": "de"},
	}}
	siteRepo := func(o *Options) {
		o.GitHub = GitHub{Bucket: "site-bucket", StripPrefix: "public/"}
	}
	pushChanges := []chg{
		{Bucket: "site-bucket", Key: "sale/index.html", Op: create},
		{Bucket: "site-bucket", Key: "img/spring sale.png", Op: create},
		{Bucket: "site-bucket", Key: "css/site.css", Op: del},
		{Bucket: "site-bucket", Key: "winter/index.html", Op: del},
	}
	pushIgnored := []refresh.Ignored{{Key: "README.md", Reason: "outside public/"}}

	tests := []struct {
		name     string
		path     string
		file     string
		body     string // instead of file
		headers  map[string]string
		edit     func(*Options)
		want     []chg
		ignored  []refresh.Ignored
		rejected []Rejection
	}{
		// GitHub
		{name: "github push: last operation per file wins, keys in the bucket",
			path: "/hooks/github", file: "github-push.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: siteRepo, want: pushChanges, ignored: pushIgnored},
		{name: "github push detected on /refresh by X-GitHub-Event",
			path: "/refresh", file: "github-push.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: siteRepo, want: pushChanges, ignored: pushIgnored},
		{name: "github push without a bucket: URLs on the domain, both actions, deletions only refreshed",
			path: "/hooks/github?action=both", file: "github-push.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: func(o *Options) { o.GitHub = GitHub{StripPrefix: "public/"} },
			want: []chg{
				{URL: "https://www.example.com/sale/index.html", Op: create, Action: refresh.ActionRefresh},
				{URL: "https://www.example.com/sale/index.html", Op: create, Action: refresh.ActionPrefetch},
				{URL: "https://www.example.com/img/spring%20sale.png", Op: create, Action: refresh.ActionRefresh},
				{URL: "https://www.example.com/img/spring%20sale.png", Op: create, Action: refresh.ActionPrefetch},
				{URL: "https://www.example.com/css/site.css", Op: del, Action: refresh.ActionRefresh},
				{URL: "https://www.example.com/winter/index.html", Op: del, Action: refresh.ActionRefresh},
			},
			ignored: pushIgnored},
		{name: "github tag push does nothing",
			path: "/hooks/github", file: "github-push-tag.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: siteRepo, ignored: []refresh.Ignored{{Key: "refs/tags/v2.4.0", Reason: "tag push"}}},
		{name: "github push with no file lists does nothing",
			path: "/hooks/github", file: "github-push-nofiles.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: siteRepo, ignored: []refresh.Ignored{{Key: "refs/heads/main", Reason: "push lists no files"}}},
		{name: "github push to another branch does nothing",
			path: "/hooks/github", file: "github-push-branch.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: siteRepo, ignored: []refresh.Ignored{{Key: "refs/heads/feature/new-nav", Reason: "branch feature/new-nav is not deployed (deployed: main)"}}},
		{name: "github push to a configured branch",
			path: "/hooks/github", file: "github-push-branch.json", headers: map[string]string{"X-GitHub-Event": "push"},
			edit: func(o *Options) {
				o.GitHub = GitHub{Bucket: "b", Prefix: "www/", Branches: []string{"feature/new-nav"}}
			},
			want: []chg{{Bucket: "b", Key: "www/public/nav.js", Op: create}}},
		{name: "github ping does nothing",
			path: "/hooks/github", file: "github-ping.json", headers: map[string]string{"X-GitHub-Event": "ping"},
			edit: siteRepo, ignored: []refresh.Ignored{{Key: "ping", Reason: "GitHub ping event: only push events are handled"}}},

		// Strapi
		{name: "strapi entry.publish: localized template",
			path: "/hooks/strapi", file: "strapi-entry-publish.json", edit: func(o *Options) { o.Templates = articles },
			want: []chg{
				{URL: "https://www.example.com/fr/blog/caching-at-the-edge/", Op: create},
				{URL: "https://www.example.com/fr/blog/", Op: create},
			}},
		{name: "strapi entry.unpublish: default locale hidden, refreshed as deleted",
			path: "/hooks/strapi", file: "strapi-entry-unpublish.json", edit: func(o *Options) { o.Templates = articles },
			want: []chg{
				{URL: "https://www.example.com/blog/caching-at-the-edge/", Op: del},
				{URL: "https://www.example.com/blog/", Op: del},
			}},
		{name: "strapi payload detected on /refresh by X-Strapi-Event",
			path: "/refresh", file: "strapi-entry-unpublish.json", headers: map[string]string{"X-Strapi-Event": "entry.unpublish"},
			edit: func(o *Options) { o.Templates = articles },
			want: []chg{
				{URL: "https://www.example.com/blog/caching-at-the-edge/", Op: del},
				{URL: "https://www.example.com/blog/", Op: del},
			}},
		{name: "strapi draft update does nothing",
			path: "/hooks/strapi", file: "strapi-entry-update-draft.json", edit: func(o *Options) { o.Templates = articles },
			ignored: []refresh.Ignored{{Key: "article 43", Reason: "draft: not published"}}},
		{name: "strapi media.create: the file and its formats on the domain",
			path: "/hooks/strapi", file: "strapi-media-create.json", edit: func(o *Options) { o.Templates = articles },
			want: []chg{
				{URL: "https://www.example.com/uploads/hero_5b0f3a.png", Op: create},
				{URL: "https://www.example.com/uploads/small_hero_5b0f3a.png", Op: create},
				{URL: "https://www.example.com/uploads/thumbnail_hero_5b0f3a.png", Op: create},
			}},
		{name: "strapi entry of a type with no template is ignored",
			path: "/hooks/strapi", file: "strapi-entry-publish.json",
			ignored: []refresh.Ignored{{Key: "article 42", Reason: `no URL template for content type "article" and no URL in the payload`}}},
		{name: "strapi entry lacking a slug is rejected naming the placeholder",
			path: "/hooks/strapi", body: `{"event":"entry.publish","model":"article","entry":{"id":44,"title":"no slug"}}`,
			edit:     func(o *Options) { o.Templates = articles },
			rejected: []Rejection{{Item: "article 44", Reason: `template "https://www.example.com/{locale}/blog/{slug}/" needs {slug}, which the entry lacks`}}},

		// Contentful
		{name: "contentful Entry.publish: one URL per locale of the slug",
			path: "/hooks/contentful", file: "contentful-entry-publish.json",
			headers: map[string]string{"X-Contentful-Topic": "ContentManagement.Entry.publish", "Content-Type": "application/vnd.contentful.management.v1+json"},
			edit:    func(o *Options) { o.Templates = blogPosts },
			want: []chg{
				{URL: "https://www.example.com/de/posts/hallo-welt/", Op: create},
				{URL: "https://www.example.com/en/posts/hello-world/", Op: create},
			}},
		{name: "contentful Entry.unpublish carries no fields: rejected naming the first placeholder",
			path: "/hooks/contentful", file: "contentful-entry-unpublish.json",
			headers: map[string]string{"X-Contentful-Topic": "ContentManagement.Entry.unpublish"},
			edit:    func(o *Options) { o.Templates = blogPosts },
			rejected: []Rejection{{Item: "blogPost 5KsDBWseXY6QegucYAoacS",
				Reason: `template "https://www.example.com/{locale}/posts/{slug}/" needs {locale}, which the entry lacks`}}},
		{name: "contentful Entry.unpublish with an {id} template",
			path: "/refresh", file: "contentful-entry-unpublish.json",
			headers: map[string]string{"X-Contentful-Topic": "ContentManagement.Entry.unpublish"},
			edit:    func(o *Options) { o.Templates = map[string]Template{"blogPost": {URLs: []string{"/p/{id}"}}} },
			want:    []chg{{URL: "https://www.example.com/p/5KsDBWseXY6QegucYAoacS", Op: del}}},
		{name: "contentful Asset.publish on a domain the rules do not name",
			path: "/hooks/contentful", file: "contentful-asset-publish.json",
			headers: map[string]string{"X-Contentful-Topic": "ContentManagement.Asset.publish"},
			edit:    func(o *Options) { o.AllowedDomain = func(h string) bool { return h == "www.example.com" } },
			rejected: []Rejection{{Item: "asset 3wtvPBbBjiMKqKKga8I2Cu",
				URL: "https://images.example.com/yadj1kx9rmg0/3wtvPBbBjiMKqKKga8I2Cu/0f8e4a/header.jpg", Reason: "domain not allowed"}}},
		{name: "contentful Asset.publish",
			path: "/hooks/contentful", file: "contentful-asset-publish.json",
			headers: map[string]string{"X-Contentful-Topic": "ContentManagement.Asset.publish"},
			want:    []chg{{URL: "https://images.example.com/yadj1kx9rmg0/3wtvPBbBjiMKqKKga8I2Cu/0f8e4a/header.jpg", Op: create}}},
		{name: "contentful Entry.save of a draft does nothing",
			path: "/hooks/contentful", file: "contentful-entry-publish.json",
			headers: map[string]string{"X-Contentful-Topic": "ContentManagement.Entry.save"},
			edit:    func(o *Options) { o.Templates = blogPosts },
			ignored: []refresh.Ignored{{Key: "ContentManagement.Entry.save", Reason: "not a change to published content"}}},

		// Sanity
		{name: "sanity update",
			path: "/hooks/sanity", file: "sanity-post.json", headers: map[string]string{"Sanity-Operation": "update"},
			edit: func(o *Options) {
				o.Templates = map[string]Template{"post": {URLs: []string{"/{locale}/blog/{slug}/"}, DefaultLocale: "en", HideDefaultLocale: true}}
			},
			want: []chg{{URL: "https://www.example.com/blog/purging-caches/", Op: create}}},
		{name: "sanity delete",
			path: "/hooks/sanity", file: "sanity-post.json", headers: map[string]string{"Sanity-Operation": "delete"},
			edit: func(o *Options) { o.Templates = map[string]Template{"*": {URLs: []string{"/{type}/{slug}/"}}} },
			want: []chg{{URL: "https://www.example.com/post/purging-caches/", Op: del}}},
		{name: "sanity draft does nothing",
			path: "/hooks/sanity", file: "sanity-draft.json",
			edit:    func(o *Options) { o.Templates = map[string]Template{"*": {URLs: []string{"/{type}/{slug}/"}}} },
			ignored: []refresh.Ignored{{Key: "post drafts.0d1f3e8a-4b7c-4e2a-9f61-2c8d5b7a9e10", Reason: "draft: not published"}}},

		// Ghost
		{name: "ghost post.published: the post's URL",
			path: "/hooks/ghost", file: "ghost-post-published.json",
			want: []chg{{URL: "https://blog.example.com/edge-caching-101/", Op: create}}},
		{name: "ghost slug change: new URL, and the old one as deleted",
			path: "/hooks/ghost", file: "ghost-post-slug-changed.json",
			want: []chg{
				{URL: "https://blog.example.com/edge-caching-explained/", Op: create},
				{URL: "https://blog.example.com/edge-caching-101/", Op: del},
			}},
		{name: "ghost post.unpublished: the last public URL as deleted",
			path: "/hooks/ghost", file: "ghost-post-unpublished.json",
			want: []chg{{URL: "https://blog.example.com/edge-caching-explained/", Op: del}}},
		{name: "ghost page.deleted",
			path: "/hooks/ghost?event=page.deleted", file: "ghost-page-deleted.json",
			want: []chg{{URL: "https://blog.example.com/about/", Op: del}}},
		{name: "ghost post with a template: the template wins",
			path: "/hooks/ghost", file: "ghost-post-published.json",
			edit: func(o *Options) { o.Templates = map[string]Template{"post": {URLs: []string{"/blog/{slug}/", "/"}}} },
			want: []chg{
				{URL: "https://www.example.com/blog/edge-caching-101/", Op: create},
				{URL: "https://www.example.com/", Op: create},
			}},

		// WordPress
		{name: "wordpress publish: the permalink",
			path: "/hooks/wordpress", file: "wordpress-post-publish.json",
			want: []chg{{URL: "https://www.example.com/2024/07/summer-menu/", Op: create}}},
		{name: "wordpress trash: the URL readers knew, as deleted",
			path: "/hooks/wordpress", file: "wordpress-post-trash.json",
			want: []chg{{URL: "https://www.example.com/old-offer/", Op: del}}},
		{name: "wordpress REST-shaped page with a template",
			path: "/hooks/wordpress?type=directory", file: "wordpress-rest.json",
			edit: func(o *Options) { o.Templates = map[string]Template{"page": {URLs: []string{"/{slug}/"}}} },
			want: []chg{{URL: "https://www.example.com/autumn-menu/", Op: create}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := &fakeRunner{}
			h := newHandler(t, run, func(o *Options) {
				o.AuthNone = true
				if tt.edit != nil {
					tt.edit(o)
				}
			})
			body := []byte(tt.body)
			if tt.file != "" {
				body = readTestdata(t, tt.file)
			}
			w := post(h, tt.path, body, tt.headers)
			if w.Code != http.StatusAccepted {
				t.Fatalf("POST %s %s: status %d, want 202; body %s", tt.path, tt.file, w.Code, w.Body)
			}
			if diff := cmp.Diff(tt.want, changesOf(run.calls())); diff != "" {
				t.Errorf("POST %s %s: changes (-want +got):\n%s", tt.path, tt.file, diff)
			}
			a := decodeAnswer(t, w)
			if diff := cmp.Diff(append([]refresh.Ignored{}, tt.ignored...), a.Ignored); diff != "" {
				t.Errorf("POST %s %s: ignored (-want +got):\n%s", tt.path, tt.file, diff)
			}
			if diff := cmp.Diff(append([]Rejection{}, tt.rejected...), a.Rejected); diff != "" {
				t.Errorf("POST %s %s: rejected (-want +got):\n%s", tt.path, tt.file, diff)
			}
			if a.Changes != len(tt.want) || a.Submitted != len(tt.want) || a.Accepted != len(tt.want) {
				t.Errorf("POST %s %s: changes/submitted/accepted = %d/%d/%d, want %d each", tt.path, tt.file, a.Changes, a.Submitted, a.Accepted, len(tt.want))
			}
		})
	}
}

// TestChangeFields checks what every change carries besides its target:
// the source, the event id (the same on a redelivery of the same bytes),
// the time, and the caller's type and force.
func TestChangeFields(t *testing.T) {
	t.Parallel()
	run := &fakeRunner{}
	h := newHandler(t, run, func(o *Options) { o.AuthNone = true })
	body := []byte(`{"urls":["https://www.example.com/a/"],"type":"directory","force":true}`)
	for range 2 {
		if w := post(h, "/refresh", body, nil); w.Code != http.StatusAccepted {
			t.Fatalf("POST /refresh: status %d, want 202; body %s", w.Code, w.Body)
		}
	}
	evs := run.calls()
	// Without a signature there is no event id: the same body sent again
	// (the next deploy) refreshes again.
	want := refresh.Change{Source: "webhook", URL: "https://www.example.com/a/",
		Op: refresh.OpCreate, ObjectType: refresh.Directory, Force: true, Time: testNow}
	for i, ev := range evs {
		if ev.ID != want.EventID {
			t.Errorf("event %d ID = %q, want %q", i, ev.ID, want.EventID)
		}
		if diff := cmp.Diff([]refresh.Change{want}, ev.Changes); diff != "" {
			t.Errorf("event %d changes (-want +got):\n%s", i, diff)
		}
	}
	if len(evs) != 2 {
		t.Errorf("runner called %d times, want 2", len(evs))
	}
}

// TestEventIDFromSignature: a signed request's event id comes from its
// signature, so the same body signed anew (the next deploy) is a new event,
// while the very same request is the same event.
func TestEventIDFromSignature(t *testing.T) {
	t.Parallel()
	run := &fakeRunner{}
	h := newHandler(t, run, nil)
	body := []byte(`{"urls":["https://www.example.com/index.html"]}`)
	for _, ts := range []time.Time{testNow, testNow.Add(-time.Minute)} {
		if w := post(h, "/refresh", body, signGeneric(testSecret, ts, body)); w.Code != http.StatusAccepted {
			t.Fatalf("POST /refresh: status %d, want 202; body %s", w.Code, w.Body)
		}
	}
	evs := run.calls()
	if len(evs) != 2 || evs[0].ID == "" || evs[0].ID == evs[1].ID {
		t.Errorf("event ids %q, %q; want two different, non-empty ids", evs[0].ID, evs[1].ID)
	}
}
