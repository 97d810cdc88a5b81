package plan

import "strings"

// depth is the number of "/" in the path of a canonical directory URL.
func depth(dir string, originLen int) int {
	return strings.Count(dir[originLen:], "/")
}
