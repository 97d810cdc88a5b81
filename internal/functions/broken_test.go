package functions_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/config"
	"github.com/cdnrefresh/cdnrefresh/internal/functions"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// TestBrokenDeploymentSaysSo: a deployment that cannot reach the CDN API —
// no credentials at all, or an endpoint nobody answers — spills every
// job with a reason that names the cause, and logs the invocation at WARN
// rather than INFO, so that 200 answers and a growing backlog are not
// mistaken for health.
func TestBrokenDeploymentSaysSo(t *testing.T) {
	t.Parallel()
	port, err := freePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	down := "127.0.0.1:" + strconv.Itoa(port)
	tests := []struct {
		name       string
		env        map[string]string
		inv        apptest.Invocation
		wantReason string // in the spilled_by key
	}{
		{
			name:       "no credentials",
			env:        map[string]string{config.EnvAccessKeyID: "", config.EnvAccessKeySecret: ""},
			inv:        apptest.Invocation{RequestID: "r-1", NoCredentials: true},
			wantReason: "NoCredentials: no credentials: give the function a role",
		},
		{
			name:       "endpoint down",
			env:        map[string]string{config.EnvCDNEndpoint: "http://" + down},
			inv:        apptest.Invocation{RequestID: "r-2"},
			wantReason: "NetworkError: dial tcp " + down + ": connect: connection refused",
		},
	}
	cfg, err := os.ReadFile("../../events/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../events/oss-put-object.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs apptest.Log
			env := apptest.Start(t, string(cfg), apptest.Options{
				Getenv: tt.env,
				App:    app.Options{After: apptest.Now, Sleep: apptest.NoSleep},
				Log:    &logs,
			}, functions.OSSRefresh)
			status, body, err := env.Post(t.Context(), tt.inv, raw)
			if err != nil {
				t.Fatal(err)
			}
			var r refresh.Report
			if status != 200 || json.Unmarshal(body, &r) != nil {
				t.Fatalf("x-fc-status %d, %s; want 200 and a report", status, body)
			}
			var reasons []string
			for k := range r.SpilledBy {
				reasons = append(reasons, k)
			}
			if r.Spilled != 4 || len(reasons) != 1 || !strings.HasPrefix(reasons[0], tt.wantReason) {
				t.Errorf("spilled %d by %q; want all 4 spilled with a reason starting %q", r.Spilled, reasons, tt.wantReason)
			}
			log := logs.String()
			if !strings.Contains(log, `"level":"WARN","msg":"oss-refresh"`) {
				t.Errorf("the invocation is not logged at WARN:\n%s", log)
			}
			if strings.Contains(log, "emulator-secret") {
				t.Errorf("the log holds a secret:\n%s", log)
			}
		})
	}
}
