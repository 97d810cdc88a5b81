package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// decoded is what a decoder made of one request.
type decoded struct {
	changes  []refresh.Change
	ignored  []refresh.Ignored
	rejected []Rejection
	// strict: when every item was rejected, the request is refused (the
	// generic API, whose caller chose the items).
	strict bool
}

// requestError is a request refused with an HTTP status.
type requestError struct {
	status int
	field  string
	msg    string
}

func (e *requestError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

func badRequest(field, format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// meta is what a decoder may read of a request besides its body.
type meta struct {
	header http.Header
	query  url.Values
}

// params are a caller's overrides of what the rules say.
type params struct {
	actions    []refresh.Action // nil: the rules decide
	objectType refresh.ObjectType
	force      bool
	// edgeRoutine and mergeDomains also refresh the URLs in that Edge
	// Routine's cache; queryHashkey is the prefetches' QueryHashkey.
	edgeRoutine, mergeDomains string
	queryHashkey              bool
}

func parseAction(s, field string) ([]refresh.Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return nil, nil
	case "refresh":
		return []refresh.Action{refresh.ActionRefresh}, nil
	case "prefetch":
		return []refresh.Action{refresh.ActionPrefetch}, nil
	case "both":
		return []refresh.Action{refresh.ActionRefresh, refresh.ActionPrefetch}, nil
	}
	return nil, badRequest(field, "%q is not one of refresh, prefetch, both", s)
}

func parseType(s, field string) (refresh.ObjectType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "file":
		return refresh.File, nil
	case "directory":
		return refresh.Directory, nil
	case "regex":
		return refresh.Regex, nil
	case "ignore_params", "ignoreparams", "exquery":
		return refresh.IgnoreParams, nil
	}
	return "", badRequest(field, "%q is not one of file, directory, regex, ignore_params", s)
}

// queryParams reads action, type and force from a hook route's query.
func queryParams(q url.Values) (params, error) {
	var p params
	var err error
	if p.actions, err = parseAction(q.Get("action"), "action"); err != nil {
		return p, err
	}
	if p.objectType, err = parseType(q.Get("type"), "type"); err != nil {
		return p, err
	}
	if s := q.Get("force"); s != "" {
		if p.force, err = strconv.ParseBool(s); err != nil {
			return p, badRequest("force", "%q is not a boolean", s)
		}
	}
	return p, nil
}

// decoder turns request bodies into changes. It holds the options the
// decoders need and is safe for concurrent use.
type decoder struct {
	domain    string
	templates map[string]*compiled
	allowed   func(host string) bool
	gh        GitHub
	maxURLs   int
}

// add appends c once per action of p, or once when the rules decide. A
// deleted object is never prefetched.
func (d *decoder) add(out *decoded, c refresh.Change, p params) {
	c.Source = "webhook"
	c.ObjectType = p.objectType
	c.Force = p.force
	c.EdgeRoutine, c.MergeDomains, c.QueryHashkey = p.edgeRoutine, p.mergeDomains, p.queryHashkey
	acts := p.actions
	if c.Op == refresh.OpDelete && len(acts) > 0 {
		acts = slices.DeleteFunc(slices.Clone(acts), func(a refresh.Action) bool { return a == refresh.ActionPrefetch })
		if len(acts) == 0 {
			name := c.URL
			if name == "" {
				name = c.Key
			}
			out.ignored = append(out.ignored, refresh.Ignored{Key: name, Reason: "deleted: not prefetched"})
			return
		}
	}
	if len(acts) == 0 {
		out.changes = append(out.changes, c)
		return
	}
	for _, a := range acts {
		c.Action = a
		out.changes = append(out.changes, c)
	}
}

// Reasons an item of a request is rejected before it reaches the pipeline,
// besides those refresh.Canonical gives for a URL.
const (
	reasonDomain   = "domain not allowed"
	reasonNoString = "not a string"
)

// addURL checks a URL as refresh.Canonical does (a regex as
// refresh.CanonicalPattern) and adds it, or records why it is rejected;
// where says which item of the request it came from. The rules' mapper
// puts the URL in canonical spelling, once they have said its type.
func (d *decoder) addURL(out *decoded, raw string, op refresh.Op, p params, where Rejection) {
	why := ""
	u, err := refresh.CanonicalFor(p.objectType, raw)
	switch {
	case err != nil:
		why = err.Error()
	case d.allowed != nil && !d.allowed(refresh.Host(u)):
		why = reasonDomain
	}
	if why != "" {
		where.URL, where.Reason = raw, why
		out.rejected = append(out.rejected, where)
		return
	}
	d.add(out, refresh.Change{URL: raw, Op: op}, p)
}

// absolute resolves a URL a payload gave that may lack a scheme (//host/x)
// or a host (/x, put on the default domain).
func (d *decoder) absolute(u string) (string, string) {
	switch {
	case strings.HasPrefix(u, "//"):
		return "https:" + u, ""
	case strings.HasPrefix(u, "/"):
		if d.domain == "" {
			return "", "a relative URL, and no default domain is set"
		}
		return "https://" + d.domain + u, ""
	}
	return u, ""
}

// entry is what a CMS said about one piece of content.
type entry struct {
	// types are the content type's names, most specific first; types[0]
	// is {type}. Without types, templates do not apply: the entry is a
	// file whose URLs the payload gives (Strapi media, Contentful assets).
	types []string
	name  string // how reports name it: "article 12"
	op    refresh.Op
	id    string
	// locale is the entry's locale, if the payload says.
	locale string
	// slug returns the slug held in the named field, "" if none.
	slug func(field string) string
	// urls are URLs the payload itself carries, used without a template.
	urls []string
}

// template returns the template for the first of types that has one, or
// the "*" template.
func (d *decoder) template(types []string) *compiled {
	for _, t := range types {
		if c, ok := d.templates[t]; ok && t != "" {
			return c
		}
	}
	return d.templates["*"]
}

// addEntry adds the URLs of e: by its content type's template when there
// is one, else the URLs its payload carries; else e is ignored.
func (d *decoder) addEntry(out *decoded, e entry, p params) {
	typ := ""
	if len(e.types) > 0 {
		typ = e.types[0]
	}
	if t := d.template(e.types); t != nil && len(e.types) > 0 {
		slug := ""
		if e.slug != nil {
			slug = e.slug(t.SlugField)
		}
		urls, why := t.expand(values{slug: slug, locale: e.locale, id: e.id, typ: typ})
		if why != "" {
			out.rejected = append(out.rejected, Rejection{Item: e.name, Reason: why})
			return
		}
		for _, u := range urls {
			d.addURL(out, u, e.op, p, Rejection{Item: e.name})
		}
		return
	}
	if len(e.urls) == 0 {
		out.ignored = append(out.ignored, refresh.Ignored{Key: e.name,
			Reason: fmt.Sprintf("no URL template for content type %q and no URL in the payload", typ)})
		return
	}
	for _, u := range e.urls {
		abs, why := d.absolute(u)
		if why != "" {
			out.rejected = append(out.rejected, Rejection{Item: e.name, URL: u, Reason: why})
			continue
		}
		d.addURL(out, abs, e.op, p, Rejection{Item: e.name})
	}
}

// checkCount refuses a request that names more than maxURLs items.
func (d *decoder) checkCount(n int, field string) error {
	if n > d.maxURLs {
		return &requestError{status: http.StatusRequestEntityTooLarge, field: field,
			msg: fmt.Sprintf("%d items, more than the %d a request may name (webhook.max_urls)", n, d.maxURLs)}
	}
	return nil
}

// object is a JSON object whose members are decoded on demand.
type object map[string]json.RawMessage

// topObject decodes body as a JSON object.
// hookInput reads what every native hook decoder starts from: the action,
// type and force of the query, and the body's top-level object.
func hookInput(body []byte, m meta) (params, object, error) {
	p, err := queryParams(m.query)
	if err != nil {
		return p, nil, err
	}
	o, err := topObject(body)
	return p, o, err
}

func topObject(body []byte) (object, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, badRequest("", "empty body: want a JSON object")
	}
	var o object
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, jsonError(err)
	}
	if o == nil {
		return nil, badRequest("", "the body is null: want a JSON object")
	}
	return o, nil
}

// obj returns member k as an object, nil when absent or not an object.
func (o object) obj(k string) object {
	v, ok := o[k]
	if !ok || refresh.JSONKind(v) != "object" {
		return nil
	}
	var m object
	if json.Unmarshal(v, &m) != nil {
		return nil
	}
	return m
}

// str returns the first of members keys that is a non-empty string or a
// number, as text.
func (o object) str(keys ...string) string {
	for _, k := range keys {
		if s := scalar(o[k]); s != "" {
			return s
		}
	}
	return ""
}

// has reports whether member k is present and not null.
func (o object) has(k string) bool {
	v, ok := o[k]
	return ok && refresh.JSONKind(v) != "null"
}

// isNull reports whether member k is present and null.
func (o object) isNull(k string) bool {
	v, ok := o[k]
	return ok && refresh.JSONKind(v) == "null"
}

// scalar returns a JSON string's text or a JSON number's digits; "" for
// anything else.
func scalar(v json.RawMessage) string {
	switch refresh.JSONKind(v) {
	case "string":
		var s string
		if json.Unmarshal(v, &s) == nil {
			return strings.TrimSpace(s)
		}
	case "number":
		return string(bytes.TrimSpace(v))
	}
	return ""
}

// jsonError describes a JSON decoding error as a 400 naming the field.
func jsonError(err error) *requestError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("", "invalid JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("", "the body is JSON %s: want a JSON object", typ.Value)
		}
		return badRequest(typ.Field, "JSON %s where %s was expected", typ.Value, jsonTypeName(typ.Type.Kind().String()))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		f = strings.Trim(f, `"`)
		return badRequest(f, "unknown field %q", f)
	}
	if errors.Is(err, errTrailing) {
		return badRequest("", "more than one JSON value in the body")
	}
	return badRequest("", "invalid JSON: %s", msg)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "a number"
}

var errTrailing = errors.New("trailing data after the JSON value")

// decodeStrict decodes body into v, refusing unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	r := bytes.NewReader(body)
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("", "empty body: want a JSON object")
		}
		return jsonError(err)
	}
	rest, _ := io.ReadAll(io.MultiReader(dec.Buffered(), r))
	if len(bytes.TrimSpace(rest)) > 0 {
		return jsonError(errTrailing)
	}
	return nil
}
