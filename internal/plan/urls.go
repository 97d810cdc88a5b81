package plan

import "strings"

// bounds returns where the host and the path of u start and where the path
// ends (before "?" or "#"). u may lack a scheme ("example.com/a.txt"), as
// ObjectPath allows.
func bounds(u string) (hostStart, pathStart, pathEnd int) {
	if i := strings.Index(u, "://"); i >= 0 && !strings.ContainsAny(u[:i], "/?#") {
		hostStart = i + len("://")
	}
	pathStart = len(u)
	if i := strings.IndexAny(u[hostStart:], "/?#"); i >= 0 {
		pathStart = hostStart + i
	}
	pathEnd = len(u)
	if i := strings.IndexAny(u[pathStart:], "?#"); i >= 0 {
		pathEnd = pathStart + i
	}
	return hostStart, pathStart, pathEnd
}

// canonical returns u with its scheme and host in lower case and without its
// query or fragment, and the length of that origin part. Directory prefixes
// are compared in this form.
func canonical(u string) (c string, originLen int) {
	_, ps, pe := bounds(u)
	origin := strings.ToLower(u[:ps]) // no copy when already lower case
	if origin == u[:ps] {
		return u[:pe], ps
	}
	return origin + u[ps:pe], len(origin)
}

// eachDir calls f with every directory prefix of the canonical URL c, whose
// origin is originLen bytes long, shallowest first: "https://d/",
// "https://d/a/", ... A prefix equal to c itself (c ends in "/") is passed
// only if self is true. f returns false to stop.
func eachDir(c string, originLen int, self bool, f func(dir string) bool) {
	for i := originLen; i < len(c); i++ {
		if c[i] != '/' {
			continue
		}
		if i == len(c)-1 && !self {
			return
		}
		if !f(c[:i+1]) {
			return
		}
	}
}

// depth is the number of "/" in the path of a canonical directory URL.
func depth(dir string, originLen int) int {
	return strings.Count(dir[originLen:], "/")
}
