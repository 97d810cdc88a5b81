package webhook

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// strapi decodes a Strapi webhook: entry.create, entry.update and
// entry.publish refresh the entry's URLs; entry.unpublish and entry.delete
// refresh them as deleted; media.* refresh the file's URL and those of its
// formats. An entry with publishedAt null is a draft and needs nothing.
func (d *decoder) strapi(body []byte, m meta) (decoded, error) {
	var out decoded
	p, o, err := hookInput(body, m)
	if err != nil {
		return out, err
	}
	event := o.str("event")
	if event == "" {
		event = m.header.Get("X-Strapi-Event")
	}
	if event == "" {
		return out, badRequest("event", "missing: not a Strapi webhook")
	}
	var op refresh.Op
	switch event {
	case "entry.create", "entry.update", "entry.publish", "media.create", "media.update":
		op = refresh.OpCreate
	case "entry.unpublish", "entry.delete", "media.delete":
		op = refresh.OpDelete
	default:
		out.ignored = append(out.ignored, refresh.Ignored{Key: event, Reason: "Strapi event needs no refresh"})
		return out, nil
	}

	if strings.HasPrefix(event, "media.") {
		media := o.obj("media")
		if media == nil {
			return out, badRequest("media", "missing or not an object")
		}
		urls := []string{}
		if u := media.str("url"); u != "" {
			urls = append(urls, u)
		}
		formats := media.obj("formats")
		for _, k := range slices.Sorted(maps.Keys(formats)) {
			if u := formats.obj(k).str("url"); u != "" {
				urls = append(urls, u)
			}
		}
		name := "media " + media.str("id")
		if len(urls) == 0 {
			out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: "media has no url"})
			return out, nil
		}
		d.addEntry(&out, entry{name: name, op: op, urls: urls}, p)
		return out, nil
	}

	e := o.obj("entry")
	if e == nil {
		return out, badRequest("entry", "missing or not an object")
	}
	model, uid := o.str("model"), o.str("uid")
	if model == "" && uid == "" {
		return out, badRequest("model", "missing: which content type the entry is")
	}
	id := e.str("id", "documentId")
	name := strings.TrimSpace(model + " " + id)
	if op == refresh.OpCreate && e.isNull("publishedAt") && event != "entry.publish" {
		out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: "draft: not published"})
		return out, nil
	}
	d.addEntry(&out, entry{
		types:  []string{model, uid},
		name:   name,
		op:     op,
		id:     id,
		locale: e.str("locale"),
		slug:   func(f string) string { return e.str(f) },
	}, p)
	return out, nil
}

// contentful decodes a Contentful webhook by its X-Contentful-Topic:
// Entry.publish refreshes the entry's URLs, one per locale of its slug;
// Entry.unpublish, archive and delete refresh them as deleted (their
// payloads carry no fields, so a template needing {slug} cannot be
// filled unless a webhook transformation adds it); Asset topics refresh
// the asset's file URLs; saves of drafts need nothing.
func (d *decoder) contentful(body []byte, m meta) (decoded, error) {
	var out decoded
	p, o, err := hookInput(body, m)
	if err != nil {
		return out, err
	}
	topic := m.header.Get("X-Contentful-Topic")
	if topic == "" {
		return out, badRequest("X-Contentful-Topic", "missing header: not a Contentful webhook")
	}
	parts := strings.Split(topic, ".")
	if len(parts) != 3 {
		return out, badRequest("X-Contentful-Topic", "%q is not ContentManagement.<Type>.<action>", topic)
	}
	kind, action := parts[1], parts[2]
	var op refresh.Op
	switch action {
	case "publish":
		op = refresh.OpCreate
	case "unpublish", "archive", "delete":
		op = refresh.OpDelete
	default:
		out.ignored = append(out.ignored, refresh.Ignored{Key: topic, Reason: "not a change to published content"})
		return out, nil
	}
	sys := o.obj("sys")
	if sys == nil {
		return out, badRequest("sys", "missing or not an object")
	}
	id := sys.str("id")
	fields := o.obj("fields")

	switch kind {
	case "Entry":
		ctype := sys.obj("contentType").obj("sys").str("id")
		if ctype == "" {
			return out, badRequest("sys.contentType.sys.id", "missing: which content type the entry is")
		}
		name := strings.TrimSpace(ctype + " " + id)
		t := d.template([]string{ctype})
		slugField := "slug"
		if t != nil {
			slugField = t.SlugField
		}
		locales := fields.obj(slugField)
		if len(locales) == 0 {
			d.addEntry(&out, entry{types: []string{ctype}, name: name, op: op, id: id,
				slug: func(string) string { return "" }}, p)
			return out, nil
		}
		for _, loc := range slices.Sorted(maps.Keys(locales)) {
			slug := scalar(locales[loc])
			d.addEntry(&out, entry{types: []string{ctype}, name: name + " " + loc, op: op, id: id, locale: loc,
				slug: func(string) string { return slug }}, p)
		}
	case "Asset":
		name := "asset " + id
		files := fields.obj("file")
		var urls []string
		for _, loc := range slices.Sorted(maps.Keys(files)) {
			if u := files.obj(loc).str("url"); u != "" {
				urls = append(urls, u)
			}
		}
		if len(urls) == 0 {
			out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: "the payload carries no file URL"})
			return out, nil
		}
		d.addEntry(&out, entry{name: name, op: op, id: id, urls: urls}, p)
	default:
		out.ignored = append(out.ignored, refresh.Ignored{Key: topic, Reason: "not an entry or an asset"})
	}
	return out, nil
}

// sanity decodes a Sanity document webhook (the default projection, the
// whole document, or one that keeps _id, _type, slug and the language
// field). The operation comes from the Sanity-Operation header or an
// "operation" member; drafts and release versions need nothing.
func (d *decoder) sanity(body []byte, m meta) (decoded, error) {
	var out decoded
	p, o, err := hookInput(body, m)
	if err != nil {
		return out, err
	}
	id, typ := o.str("_id"), o.str("_type")
	if typ == "" {
		return out, badRequest("_type", "missing: project _type (and slug) in the webhook")
	}
	name := strings.TrimSpace(typ + " " + id)
	if strings.HasPrefix(id, "drafts.") || strings.HasPrefix(id, "versions.") {
		out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: "draft: not published"})
		return out, nil
	}
	operation := strings.ToLower(m.header.Get("Sanity-Operation"))
	if operation == "" {
		operation = strings.ToLower(o.str("operation"))
	}
	op := refresh.OpCreate
	switch operation {
	case "", "create", "update":
	case "delete":
		op = refresh.OpDelete
	default:
		return out, badRequest("Sanity-Operation", "%q is not one of create, update, delete", operation)
	}
	var urls []string
	if u := o.str("url"); u != "" {
		urls = append(urls, u)
	}
	d.addEntry(&out, entry{
		types:  []string{typ},
		name:   name,
		op:     op,
		id:     id,
		locale: o.str("language", "locale", "__i18n_lang"),
		slug: func(f string) string {
			if s := o.obj(f).str("current"); s != "" {
				return s
			}
			return o.str(f)
		},
		urls: urls,
	}, p)
	return out, nil
}

// ghost decodes a Ghost webhook: {"post": {"current": …, "previous": …}}
// or the same under "page". A published post refreshes its URL (and its
// old URL as deleted when the slug changed); an unpublished or deleted one
// refreshes its last public URL as deleted; drafts need nothing. The
// event may also be named in the query, ?event=post.unpublished.
func (d *decoder) ghost(body []byte, m meta) (decoded, error) {
	var out decoded
	p, o, err := hookInput(body, m)
	if err != nil {
		return out, err
	}
	kind := ""
	for _, k := range []string{"post", "page"} {
		if o.has(k) {
			kind = k
			break
		}
	}
	if kind == "" {
		return out, badRequest("post", "missing: want post or page")
	}
	w := o.obj(kind)
	if w == nil {
		return out, badRequest(kind, "not an object")
	}
	cur, prev := w.obj("current"), w.obj("previous")
	if cur == nil && prev == nil {
		return out, badRequest(kind+".current", "missing or not an object")
	}
	event := m.query.Get("event")
	removed := strings.HasSuffix(event, ".unpublished") || strings.HasSuffix(event, ".deleted")
	curStatus, prevStatus := cur.str("status"), prev.str("status")
	id := cur.str("id")
	if id == "" {
		id = prev.str("id")
	}
	name := strings.TrimSpace(kind + " " + id)

	// one adds the entry described by the first of objs that has a slug
	// or a URL; later objects fill what earlier ones lack.
	one := func(op refresh.Op, objs ...object) {
		get := func(k string) string {
			for _, x := range objs {
				if s := x.str(k); s != "" {
					return s
				}
			}
			return ""
		}
		var urls []string
		if u := get("url"); u != "" {
			urls = append(urls, u)
		}
		d.addEntry(&out, entry{types: []string{kind}, name: name, op: op, id: id, locale: get("locale"),
			slug: func(f string) string { return get(f) }, urls: urls}, p)
	}
	switch {
	case removed || len(cur) == 0:
		one(refresh.OpDelete, prev, cur)
	case curStatus == "published" || curStatus == "":
		one(refresh.OpCreate, cur)
		if (prev.has("slug") && prev.str("slug") != cur.str("slug")) || (prev.has("url") && prev.str("url") != cur.str("url")) {
			if prevStatus == "" || prevStatus == "published" {
				one(refresh.OpDelete, prev, cur)
			}
		}
	case prevStatus == "published":
		one(refresh.OpDelete, prev, cur)
	default:
		out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: fmt.Sprintf("%s is %s: not published", kind, curStatus)})
	}
	return out, nil
}

// wordpress decodes a WordPress publish hook, as WP Webhooks and similar
// plugins send it: a post object (at the top or under "post") with
// ID/id/post_id, post_name/slug, post_type/type, post_status/status, and
// a permalink (post_url, post_permalink, permalink, url or link). A
// published post refreshes its URLs; a trashed, private or draft one, or
// an action/event naming a deletion, refreshes them as deleted.
func (d *decoder) wordpress(body []byte, m meta) (decoded, error) {
	var out decoded
	p, top, err := hookInput(body, m)
	if err != nil {
		return out, err
	}
	post := top.obj("post")
	get := func(keys ...string) string {
		if s := post.str(keys...); s != "" {
			return s
		}
		return top.str(keys...)
	}
	id := get("ID", "id", "post_id")
	typ := get("post_type", "type")
	if typ == "" {
		typ = "post"
	}
	name := strings.TrimSpace(typ + " " + id)
	if typ == "revision" || typ == "nav_menu_item" {
		out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: typ + ": not a page"})
		return out, nil
	}
	hint := strings.ToLower(top.str("action", "hook", "event", "trigger", "webhook_name"))
	status := strings.ToLower(get("post_status", "status"))
	op := refresh.OpCreate
	switch {
	case strings.Contains(hint, "delete"), strings.Contains(hint, "trash"), strings.Contains(hint, "unpublish"):
		op = refresh.OpDelete
	case status == "", status == "publish", status == "inherit":
	case status == "trash", status == "private", status == "draft", status == "pending":
		op = refresh.OpDelete
	default:
		out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: fmt.Sprintf("status %s: not published", status)})
		return out, nil
	}
	// WordPress renames a trashed post's slug to slug__trashed; readers
	// knew it by the old one.
	untrash := func(s string) string {
		if op == refresh.OpDelete {
			return strings.Replace(s, "__trashed", "", 1)
		}
		return s
	}
	var urls []string
	if u := get("post_url", "post_permalink", "permalink", "url", "link"); u != "" {
		urls = append(urls, untrash(u))
	}
	if id == "" && len(urls) == 0 && get("post_name", "slug") == "" {
		return out, badRequest("post", "no post: want ID, post_name or a permalink")
	}
	d.addEntry(&out, entry{
		types:  []string{typ},
		name:   name,
		op:     op,
		id:     id,
		locale: get("lang", "locale", "language"),
		slug: func(f string) string {
			if f == "slug" {
				return untrash(get("post_name", "slug"))
			}
			return untrash(get(f))
		},
		urls: urls,
	}, p)
	return out, nil
}
