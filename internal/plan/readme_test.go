package plan

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestREADMEAPITable checks the README's table "Which API each rule
// calls" against the code: each row is rendered here from refresh.APIFor,
// refresh.ObjectTypeSpellings, the planner's per-call limits and the
// quota each kind draws on, and the README must carry it word for word.
func TestREADMEAPITable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits()
	num := func(n int) string {
		if n >= 1000 {
			return fmt.Sprintf("%d,%03d", n/1000, n%1000)
		}
		return fmt.Sprint(n)
	}
	domains := func(api string) string {
		if n := lim.domains(api); n > 1 {
			return fmt.Sprintf("%d domains", n)
		}
		return "1 domain"
	}
	// per renders the per-call limit of api for object type t.
	per := func(api string, t refresh.ObjectType) string {
		n := lim.perCall(api, t)
		unit := map[refresh.ObjectType]string{refresh.Directory: "directories", refresh.Regex: "pattern", refresh.CacheTag: "tags (assumed)"}[t]
		if unit == "" {
			unit = "URLs"
		}
		return num(n) + " " + unit
	}
	quota := func(a refresh.Action, t refresh.ObjectType) string {
		return map[refresh.QuotaKind]string{
			refresh.QuotaURL: "URL", refresh.QuotaDir: "directory", refresh.QuotaRegex: "regex",
			refresh.QuotaIgnoreParams: "IgnoreParams", refresh.QuotaPreload: "prefetch",
		}[refresh.Job{Action: a, ObjectType: t}.QuotaKind()]
	}
	api := func(p refresh.Provider, a refresh.Action, t refresh.ObjectType, er bool) string {
		if s := refresh.APIFor(p, a, t, er); s != "" {
			return "`" + s + "`"
		}
		return "—"
	}
	sent := func(p refresh.Provider, t refresh.ObjectType) string {
		a := refresh.APIFor(p, refresh.ActionRefresh, t, false)
		if sp := refresh.ObjectTypeSpellings(a, t); len(sp) > 1 {
			return fmt.Sprintf("`%s`, then `%s` once refused", sp[0], strings.Join(sp[1:], "`, `"))
		}
		return "`" + string(t) + "`"
	}
	row := func(cells ...string) string { return "| " + strings.Join(cells, " | ") + " |" }

	var rows []string
	for _, r := range []struct {
		rule string
		t    refresh.ObjectType
	}{
		{"`object_type: file` (the default)", refresh.File},
		{"`object_type: directory`", refresh.Directory},
		{"`object_type: regex`", refresh.Regex},
	} {
		rows = append(rows, row(r.rule, api(refresh.CDN, refresh.ActionRefresh, r.t, false), api(refresh.DCDN, refresh.ActionRefresh, r.t, false),
			sent(refresh.CDN, r.t), per(refresh.APIRefresh, r.t)+", "+domains(refresh.APIRefresh), quota(refresh.ActionRefresh, r.t)))
	}
	ip := refresh.IgnoreParams
	rows = append(rows,
		row("`object_type: ignore_params` (or `exquery`)", api(refresh.CDN, refresh.ActionRefresh, ip, false), api(refresh.DCDN, refresh.ActionRefresh, ip, false),
			"CDN: "+sent(refresh.CDN, ip)+"; DCDN: "+sent(refresh.DCDN, ip), per(refresh.APIRefresh, ip)+", "+domains(refresh.APIRefresh), quota(refresh.ActionRefresh, ip)),
		row("`edge_routine` on a DCDN rule, webhook `edge_routine`, `--edge-routine`: besides the refresh above",
			api(refresh.CDN, refresh.ActionRefresh, refresh.File, true), api(refresh.DCDN, refresh.ActionRefresh, refresh.File, true),
			"the rule's", per(refresh.APIRefreshER, refresh.File)+" or "+per(refresh.APIRefreshER, refresh.Directory)+", "+domains(refresh.APIRefreshER), "the rule's type's"),
		row("`cache_tags`, webhook `tags`, `--tag`", api(refresh.CDN, refresh.ActionRefresh, refresh.CacheTag, false), api(refresh.DCDN, refresh.ActionRefresh, refresh.CacheTag, false),
			"—", per(refresh.APICacheTag, refresh.CacheTag)+", "+domains(refresh.APICacheTag), quota(refresh.ActionRefresh, refresh.CacheTag)+", one per tag (assumed)"),
		row("`on_create: prefetch` or `both`", api(refresh.CDN, refresh.ActionPrefetch, "", false), api(refresh.DCDN, refresh.ActionPrefetch, "", false),
			"—", per(refresh.APIPush, "")+", "+domains(refresh.APIPush), quota(refresh.ActionPrefetch, "")),
	)
	if per(refresh.APIRefreshDCDN, refresh.File) != per(refresh.APIRefresh, refresh.File) || domains(refresh.APIRefreshDCDN) != domains(refresh.APIRefresh) ||
		per(refresh.APIPreloadDCDN, "") != per(refresh.APIPush, "") || per(refresh.APICacheTagDCDN, refresh.CacheTag) != per(refresh.APICacheTag, refresh.CacheTag) {
		t.Error("CDN and DCDN limits differ: the table's one per-call column no longer holds")
	}
	for _, r := range rows {
		if !strings.Contains(string(readme), "\n"+r+"\n") {
			t.Errorf("README.md lacks the row\n%s", r)
		}
	}
}
