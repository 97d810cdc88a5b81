package app

import (
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
	"github.com/cdnrefresh/cdnrefresh/internal/urlmap"
)

// DryRun is what an event would cause, computed without any network: the
// output of `cdnrefresh plan`. The JSON field names are a stable interface.
type DryRun struct {
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

// Plan decodes an OSS or S3 event and plans the calls it would cause under
// cfg's rules and limits, assuming the full daily quota remains.
func Plan(cfg *config.Config, raw []byte) (DryRun, error) {
	ev, err := trigger.Parse(raw)
	if err != nil {
		return DryRun{}, err
	}
	rules, err := urlmap.Compile(cfg.Rules)
	if err != nil {
		return DryRun{}, err
	}
	return PlanEvent(cfg, newMapper(cfg, rules), ev), nil
}

// PlanEvent plans the calls ev would cause through mapper.
func PlanEvent(cfg *config.Config, mapper refresh.Mapper, ev refresh.Event) DryRun {
	d := DryRun{Calls: []refresh.Call{}, Ignored: append([]refresh.Ignored{}, ev.Ignored...), Rejected: []Rejection{}}
	var jobs []refresh.Job
	for _, c := range ev.Changes {
		js, rejected, why := mapper.Map(c)
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
	calls, _ := NewPlanner(cfg).Plan(jobs, refresh.NoQuotaLimit)
	d.Calls = append(d.Calls, calls...)
	return d
}
