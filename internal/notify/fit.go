package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/report"
)

// What every chat rendering cuts, whatever the platform: a URL, reason or
// detail line longer than clipChars is shortened, and a prefetch task
// shows at most maxDetails detail lines.
const (
	clipChars  = 256
	maxDetails = 5
)

// marshal encodes v as JSON without escaping <, > and & (robots read the
// text as it is; escaping would only make it longer).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// mostShown returns the largest k in [0, n] for which fits(k) holds, fits
// being true up to some k and false beyond; -1 when even fits(0) is false.
func mostShown(n int, fits func(k int) bool) int {
	return sort.Search(n+1, func(k int) bool { return !fits(k) }) - 1
}

// fitText renders r in style s and encodes it into a request body with
// encode, showing as many failed tasks as let fits accept the body. When
// even none fit (a huge note), the text itself is cut with "…".
func fitText(r report.Report, s report.Style, encode func(text string) ([]byte, error), fits func(body []byte, text string) bool) ([]byte, error) {
	var encErr error
	try := func(text string) ([]byte, bool) {
		body, err := encode(text)
		if err != nil {
			encErr = err
			return nil, false
		}
		return body, fits(body, text)
	}
	k := mostShown(len(r.Failed), func(k int) bool {
		_, ok := try(s.Render(r, k))
		return ok
	})
	if encErr != nil {
		return nil, encErr
	}
	if k >= 0 {
		body, _ := try(s.Render(r, k))
		return body, nil
	}
	full := s.Render(r, 0)
	var starts []int // byte offsets where a character starts
	for i := range full {
		starts = append(starts, i)
	}
	n := mostShown(len(starts)-1, func(i int) bool {
		_, ok := try(full[:starts[i]] + "…")
		return ok
	})
	if encErr != nil {
		return nil, encErr
	}
	if n < 0 {
		return nil, errors.New("even an empty message is over the size limit")
	}
	body, _ := try(strings.TrimRight(full[:starts[n]], " \n") + "…")
	return body, nil
}
