package urlmap

import "strings"

// keep marks the bytes a URL path segment carries as they are: RFC 3986's
// pchar without pct-encoded, that is the unreserved characters
// A-Z a-z 0-9 - . _ ~, the sub-delims ! $ & ' ( ) * + , ; = and : @.
// Every other byte of a key is written %XX with upper-case hex.
var keep = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range []byte("-._~!$&'()*+,;=:@") {
		t[c] = true
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// escapedLen returns the length of p with every byte that keep does not
// mark, except the separator /, written as %XX.
func escapedLen(p string) int {
	n := len(p)
	for i := 0; i < len(p); i++ {
		if c := p[i]; !keep[c] && c != '/' {
			n += 2
		}
	}
	return n
}

// writeEscaped writes p percent-encoded, segment by segment: / stays the
// separator (so empty segments and a trailing / stay as they are).
func writeEscaped(b *strings.Builder, p string) {
	start := 0 // first byte not written yet
	for i := 0; i < len(p); i++ {
		c := p[i]
		if keep[c] || c == '/' {
			continue
		}
		b.WriteString(p[start:i])
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
		start = i + 1
	}
	b.WriteString(p[start:])
}

// EscapePath percent-encodes an object key (raw UTF-8) as the path of a
// URL, exactly once, the way the package documentation describes.
func EscapePath(key string) string {
	if escapedLen(key) == len(key) {
		return key
	}
	var b strings.Builder
	b.Grow(escapedLen(key))
	writeEscaped(&b, key)
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// normalizeTail percent-encodes, in the path and query of a URL a caller
// gave, the bytes a browser would not send raw (space, non-ASCII, ", <, >,
// …), and leaves alone what is already encoded: %XX stays, a % not
// followed by two hex digits becomes %25. The fragment is dropped: it is
// never sent to a server.
func normalizeTail(t string) string {
	if i := strings.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	var b strings.Builder
	b.Grow(len(t))
	query := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '%' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			b.WriteByte(c)
		case c == '?' && !query:
			query = true
			b.WriteByte(c)
		case keep[c] || c == '/' || (query && c == '?'):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	return b.String()
}
