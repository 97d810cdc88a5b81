package plan

import "github.com/cdnrefresh/cdnrefresh/internal/refresh"

// Preview is what an event would cause, computed without any network: the
// output of `cdnrefresh plan`. The JSON field names are a stable interface.
type Preview struct {
	Calls    []refresh.Call    `json:"calls"`
	Ignored  []refresh.Ignored `json:"ignored"`
	Rejected []Rejection       `json:"rejected"`
}

// Rejection is a URL that would never be sent, with why.
type Rejection struct {
	URL    string `json:"url"`
	Key    string `json:"key,omitempty"`
	Reason string `json:"reason"`
}

// PreviewEvent maps ev's changes through m and plans the calls they would
// cause with p, assuming the full daily quota remains.
func PreviewEvent(ev refresh.Event, m refresh.Mapper, p refresh.Planner) Preview {
	d := Preview{Calls: []refresh.Call{}, Ignored: append([]refresh.Ignored{}, ev.Ignored...), Rejected: []Rejection{}}
	var jobs []refresh.Job
	for _, c := range ev.Changes {
		js, rejected, why := m.Map(c)
		if len(js) == 0 && len(rejected) == 0 {
			key := c.Key
			if c.URL != "" {
				key = c.URL
			}
			d.Ignored = append(d.Ignored, refresh.Ignored{Key: key, Reason: why})
		}
		for _, r := range rejected {
			d.Rejected = append(d.Rejected, Rejection{URL: r.Job.URL, Key: r.Job.Key, Reason: r.Reason})
		}
		jobs = append(jobs, js...)
	}
	calls, _ := p.Plan(jobs, refresh.NoQuotaLimit)
	d.Calls = append(d.Calls, calls...)
	return d
}
