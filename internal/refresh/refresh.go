// Package refresh holds the core words of cdnrefresh — Change, Job, Call,
// Outcome, Report — and the Pipeline that carries every change through the
// one flow: map to URLs, dedupe in a short window, plan API-sized calls,
// submit, and record exactly one outcome per job (submitted, duplicate,
// spilled or rejected).
//
// Adapters (triggers, URL rules, the window, the planner, the CDN client,
// the spill store) depend on this package and never on each other; the small
// interfaces they satisfy are declared here.
package refresh

import (
	"time"
)

// Op is what happened to an object.
type Op string

// The operations a source can report.
const (
	OpCreate Op = "create" // created or overwritten (PutObject, CopyObject, …)
	OpDelete Op = "delete" // removed
)

// Action is what the CDN is asked to do with a URL.
type Action string

// Actions.
const (
	ActionRefresh  Action = "refresh"  // purge (RefreshObjectCaches)
	ActionPrefetch Action = "prefetch" // warm (PushObjectCache)
)

// ObjectType is the refresh granularity, spelled as the CDN API spells it.
type ObjectType string

// Object types accepted by RefreshObjectCaches. IgnoreParams is spelled
// ExQuery on the CDN RefreshObjectCaches page (ObjectTypeSpellings).
const (
	File         ObjectType = "File"
	Directory    ObjectType = "Directory"
	Regex        ObjectType = "Regex"
	IgnoreParams ObjectType = "IgnoreParams"
)

// CacheTag marks a job or call that refreshes by cache tag
// (RefreshObjectCacheByCacheTag, RefreshDcdnObjectCacheByCacheTag): not an
// ObjectType the API takes, but the kind of work that selects those APIs.
// Such a job names its domain as https://DOMAIN/ (DomainURL) and its tag
// in Tag.
const CacheTag ObjectType = "CacheTag"

// Provider selects the API family.
type Provider string

// Providers.
const (
	CDN  Provider = "cdn"  // Alibaba Cloud CDN, API 2018-05-10
	DCDN Provider = "dcdn" // Alibaba Cloud DCDN, API 2018-01-15
)

// Change is one changed object, or one URL named directly by a caller, as a
// source reported it.
type Change struct {
	Source  string    `json:"source"`             // oss, s3, webhook, timer
	EventID string    `json:"event_id,omitempty"` // the same on every redelivery of the event
	Bucket  string    `json:"bucket,omitempty"`
	Key     string    `json:"key,omitempty"` // decoded object key (raw UTF-8)
	Op      Op        `json:"op"`
	ETag    string    `json:"etag,omitempty"`
	Time    time.Time `json:"time,omitzero"`

	// URL, when set, is a complete URL named by a caller (webhook); rules
	// then only check that its domain is allowed.
	URL string `json:"url,omitempty"`
	// Action, ObjectType and Force, when set, override what the rules say.
	Action     Action     `json:"action,omitempty"`
	ObjectType ObjectType `json:"object_type,omitempty"`
	Force      bool       `json:"force,omitempty"`
	// Tag, with URL https://DOMAIN/, asks to refresh what DOMAIN cached
	// under this cache tag.
	Tag string `json:"tag,omitempty"`
	// EdgeRoutine, when set, also refreshes the URL in that Edge Routine's
	// cache (RefreshErObjectCaches), merging MergeDomains (comma-separated)
	// as its MergeDomainName; it overrides the rule's edge_routine.
	EdgeRoutine  string `json:"edge_routine,omitempty"`
	MergeDomains string `json:"merge_domains,omitempty"`
	// QueryHashkey asks a prefetch to run in hash key query mode
	// (PushObjectCache QueryHashkey), over the rule's choice.
	QueryHashkey bool `json:"query_hashkey,omitempty"`
}

// Ignored is a change, or an event record, that needs no CDN work, with why.
type Ignored struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Event is what a trigger decoded from one invocation.
type Event struct {
	ID      string    `json:"id,omitempty"` // delivery identity used to drop redeliveries
	Changes []Change  `json:"changes"`
	Ignored []Ignored `json:"ignored,omitempty"`
}

// Job is one URL and what to do with it.
type Job struct {
	Action     Action     `json:"action"`
	Provider   Provider   `json:"provider"`
	ObjectType ObjectType `json:"object_type"`
	URL        string     `json:"url"`
	Force      bool       `json:"force,omitempty"`
	// Prefetch options (PushObjectCache): Area is domestic | overseas | "".
	Area      string `json:"area,omitempty"`
	L2Preload bool   `json:"l2_preload,omitempty"`
	// WithHeader is the JSON object of request headers the prefetch sends
	// to the origin, as PushObjectCache takes it, e.g. {"Accept-Encoding":["gzip"]}.
	WithHeader string `json:"with_header,omitempty"`
	// QueryHashkey is PushObjectCache's QueryHashkey (seed 000).
	QueryHashkey bool `json:"query_hashkey,omitempty"`
	// Tag is the cache tag of a CacheTag job, whose URL is https://DOMAIN/.
	Tag string `json:"tag,omitempty"`
	// Routine, when set, makes the job a refresh of that Edge Routine's
	// cache (RefreshErObjectCaches RoutineId, "Name.Subdomain"), merging
	// the domains of MergeDomains (comma-separated, as MergeDomainName).
	Routine      string `json:"routine,omitempty"`
	MergeDomains string `json:"merge_domains,omitempty"`
	// Key is the object key the job came from, for reporting.
	Key string `json:"key,omitempty"`
	// Op and ChangeTime are the change the job came from: what happened
	// to the object, and when (the event's time, else when it arrived).
	// They do not change the API request: a later delete of the URL
	// cancels a prefetch not yet sent, and the ledger measures freshness
	// from the change time.
	Op         Op        `json:"op,omitempty"`
	ChangeTime time.Time `json:"change_time,omitzero"`
	// Resubmits counts how often the job was sent again because its task
	// failed.
	Resubmits int `json:"resubmits,omitempty"`
}

// DedupeKey identifies a job for the dedupe window: the same action on the
// same URL with the same type and provider, and the same value of every
// other field that changes the API request, is one piece of work. The
// fields a plain job leaves empty add nothing, so its key is
// provider|action|type|URL. A refresh for a deleted object is work apart
// from one for its creation: a delete shortly after a create refreshes
// again (the first purge may have been followed by a fetch of the object
// now gone), and its ticket cancels the prefetch that waits anywhere.
func (j Job) DedupeKey() string {
	k := string(j.Provider) + "|" + string(j.Action) + "|" + string(j.ObjectType) + "|" + j.URL
	for _, f := range [...]struct{ name, v string }{
		{"force", flag(j.Force)}, {"area", j.Area}, {"l2", flag(j.L2Preload)}, {"header", j.WithHeader},
		{"hashkey", flag(j.QueryHashkey)}, {"tag", j.Tag}, {"routine", j.Routine}, {"merge", j.MergeDomains},
		{"deleted", flag(j.Op == OpDelete)},
	} {
		if f.v != "" {
			k += "|" + f.name + "=" + f.v
		}
	}
	return k
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// Call is one API request the planner formed.
type Call struct {
	API        string     `json:"api"` // one of the API constants; APIFor names it
	Provider   Provider   `json:"provider"`
	Action     Action     `json:"action"`
	ObjectType ObjectType `json:"object_type,omitempty"`
	// ObjectTypeSpellings lists the ObjectType values the client tries, in
	// order, where the documents spell ObjectType more than one way
	// (ObjectTypeSpellings); empty where there is one spelling.
	ObjectTypeSpellings []string `json:"object_type_spellings,omitempty"`
	Force               bool     `json:"force,omitempty"`
	Area                string   `json:"area,omitempty"`
	L2Preload           bool     `json:"l2_preload,omitempty"`
	WithHeader          string   `json:"with_header,omitempty"`
	QueryHashkey        bool     `json:"query_hashkey,omitempty"`
	// Routine and MergeDomains are RefreshErObjectCaches' RoutineId and
	// MergeDomainName.
	Routine      string `json:"routine,omitempty"`
	MergeDomains string `json:"merge_domains,omitempty"`
	// Tags are the cache tags of a cache-tag call; its URLs are then the
	// one https://DOMAIN/ of its domain.
	Tags []string `json:"tags,omitempty"`
	URLs []string `json:"urls"`
	// Jobs are the jobs this call carries out: one per URL, plus the file
	// jobs a directory call covers. Not part of the API request.
	Jobs []Job `json:"-"`
	// Notes say, by directory URL, why the planner collapsed file refreshes
	// into it ("collapsed 21228 URLs under https://d/pkg/ (quota pressure:
	// 10000 left for 31842)"). Not part of the API request.
	Notes map[string]string `json:"notes,omitempty"`
}

// Status is the one recorded outcome of a job.
type Status string

// Statuses.
const (
	Submitted Status = "submitted" // accepted by the CDN API; TaskID set
	Duplicate Status = "duplicate" // the same job was already submitted in the dedupe window
	Spilled   Status = "spilled"   // stored durably; the report function replays it
	Rejected  Status = "rejected"  // will never be sent; Reason says why
	Canceled  Status = "canceled"  // a prefetch not sent: the URL's object was deleted after the change
	// Waiting: a prefetch that follows a purge, stored durably until the
	// purge's tasks complete; then sent (Reason ReasonAfterPurge).
	Waiting Status = "waiting"
	// Failed: neither submitted nor stored, because the spill store
	// failed. The invocation fails with it, so that the platform delivers
	// the event again.
	Failed Status = "failed"
)

// Outcome is what became of one job.
type Outcome struct {
	Job    Job    `json:"job"`
	Status Status `json:"status"`
	TaskID string `json:"task_id,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Via is the directory URL whose refresh carried the job out, when
	// it was not sent as itself (a file beneath a directory job, or a
	// collapse), or of a Duplicate whose directory was sent earlier. A
	// Directory refresh that is Submitted carries itself: Via is its URL.
	Via string `json:"via,omitempty"`
}

// Quota is what remains of the account's daily quotas. Unlimited means "not
// known, do not cap".
type Quota struct {
	URL          int `json:"url"`
	Dir          int `json:"dir"`
	Regex        int `json:"regex"`
	IgnoreParams int `json:"ignore_params"`
	Preload      int `json:"preload"`
}

// Unlimited is a quota value that caps nothing.
const Unlimited = int(^uint(0) >> 1)

// NoQuotaLimit is a Quota that caps nothing.
var NoQuotaLimit = Quota{URL: Unlimited, Dir: Unlimited, Regex: Unlimited, IgnoreParams: Unlimited, Preload: Unlimited}

// Pending is a job not done yet, kept by a spill store.
type Pending struct {
	Job       Job       `json:"job"`
	Reason    string    `json:"reason"`     // e.g. QuotaExceeded.Refresh, Throttling, deadline
	FirstSeen time.Time `json:"first_seen"` // when the change first arrived
	Attempts  int       `json:"attempts"`
	// After lists the task ids a waiting prefetch follows (ReasonAfterPurge);
	// it is sent once they are Complete, or at NotBefore whatever is known.
	After     []string  `json:"after,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
}
