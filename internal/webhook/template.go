package webhook

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// Template says which URLs an entry of one content type lives at.
type Template struct {
	// URLs are URL templates: a path put on Domain ("/blog/{slug}/") or a
	// full URL ("https://www.example.com/blog/{slug}/"). Placeholders:
	// {slug}, {locale}, {id}, {type}.
	URLs []string
	// Domain is the host path templates are put on (default
	// Options.Domain), always over https.
	Domain string
	// SlugField names the entry field holding the slug (default "slug";
	// WordPress uses post_name, Sanity's slug.current is read too).
	SlugField string
	// DefaultLocale is {locale} for an entry that names none.
	DefaultLocale string
	// HideDefaultLocale expands {locale}, with the / or . that follows it,
	// to nothing when the entry's locale is DefaultLocale.
	HideDefaultLocale bool
	// Locales renames CMS locales for URLs, such as "en-US": "en".
	Locales map[string]string
}

// The placeholders a URL template may use.
var placeholders = []string{"slug", "locale", "id", "type"}

// compiled is a Template ready to expand.
type compiled struct {
	Template
	urls []string // full URL templates: scheme://host/...
}

// compileTemplate checks t and resolves its path templates onto a domain.
func compileTemplate(t Template, domain string) (*compiled, error) {
	if len(t.URLs) == 0 {
		return nil, fmt.Errorf("no URLs")
	}
	if t.Domain == "" {
		t.Domain = domain
	}
	if t.SlugField == "" {
		t.SlugField = "slug"
	}
	c := &compiled{Template: t}
	for _, u := range t.URLs {
		u = strings.TrimSpace(u)
		if err := checkPlaceholders(u); err != nil {
			return nil, fmt.Errorf("%q: %w", u, err)
		}
		switch lower := strings.ToLower(u); {
		case strings.HasPrefix(u, "/"):
			if t.Domain == "" {
				return nil, fmt.Errorf("%q is a path, and no domain is set to put it on", u)
			}
			if err := refresh.CheckHost(t.Domain); err != nil {
				return nil, fmt.Errorf("domain: %w", err)
			}
			u = "https://" + strings.ToLower(t.Domain) + u
		case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"):
		default:
			return nil, fmt.Errorf("%q is neither a path starting with / nor an http(s) URL", u)
		}
		c.urls = append(c.urls, u)
	}
	return c, nil
}

// checkPlaceholders reports an unknown or unclosed placeholder in u.
func checkPlaceholders(u string) error {
	for rest := u; ; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			return nil
		}
		if rest[i] == '}' {
			return fmt.Errorf("} without {")
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("{ without }")
		}
		name := rest[i+1 : i+j]
		if !slices.Contains(placeholders, name) {
			return fmt.Errorf("unknown placeholder {%s} (known: {slug}, {locale}, {id}, {type})", name)
		}
		rest = rest[i+j+1:]
	}
}

// values are what an entry offers to the placeholders.
type values struct {
	slug, locale, id, typ string
}

// expand returns the URLs of an entry, or the reason it has none: the
// first placeholder it lacks a value for.
func (c *compiled) expand(v values) ([]string, string) {
	locale := v.locale
	if locale == "" {
		locale = c.DefaultLocale
	}
	hide := c.HideDefaultLocale && locale != "" && locale == c.DefaultLocale
	if l, ok := c.Locales[locale]; ok {
		locale = l
	}
	slug := strings.Trim(v.slug, "/")
	for _, seg := range strings.Split(slug, "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Sprintf("slug %q has a . or .. segment", v.slug)
		}
	}
	var out []string
	for _, u := range c.urls {
		var b strings.Builder
		rest := u
		for {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i])
			j := strings.IndexByte(rest[i:], '}')
			name := rest[i+1 : i+j]
			rest = rest[i+j+1:]
			var val string
			switch name {
			case "slug":
				val = refresh.EscapePath(slug)
			case "locale":
				if hide {
					if rest != "" && (rest[0] == '/' || rest[0] == '.') {
						rest = rest[1:]
					}
					continue
				}
				val = escapeSegment(locale)
			case "id":
				val = escapeSegment(v.id)
			case "type":
				val = escapeSegment(v.typ)
			}
			if val == "" {
				return nil, fmt.Sprintf("template %q needs {%s}, which the entry lacks", u, name)
			}
			b.WriteString(val)
		}
		out = append(out, b.String())
	}
	return out, ""
}

// escapeSegment percent-encodes a placeholder value that is one path
// segment: as refresh.EscapePath, and / too.
func escapeSegment(s string) string {
	return strings.ReplaceAll(refresh.EscapePath(s), "/", "%2F")
}
