package spill_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ossemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/spill"
)

func TestOSSWritesUnderPrefix(t *testing.T) {
	t.Parallel()
	emu, open := emulator(t)
	s := open(t, "/.cdnrefresh/spill") // cleaned to ".cdnrefresh/spill/"
	emu.SetObject(bucketName, "static/index.html", []byte("<html>"))
	emu.SetObject(bucketName, prefix+"nested/00000000000000000001-0123456789abcdef.json", []byte("not listed"))
	mustSpill(t, s, pending("a", "r", 1))

	var spilled []string
	for _, k := range emu.Keys(bucketName) {
		if k != "static/index.html" && !strings.HasPrefix(k, prefix+"nested/") {
			spilled = append(spilled, k)
		}
	}
	if len(spilled) != 1 || !strings.HasPrefix(spilled[0], prefix) {
		t.Fatalf("keys %v, want exactly one new key under %q", emu.Keys(bucketName), prefix)
	}
	if !spill.IsSpillKey(bucketName, spilled[0], bucketName, prefix) {
		t.Errorf("IsSpillKey(%q, %q, %q, %q) = false, want true", bucketName, spilled[0], bucketName, prefix)
	}
	if diff := cmp.Diff([]refresh.Pending{pending("a", "r", 1)}, pendings(mustLoad(t, s))); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func TestOSSFaults(t *testing.T) {
	t.Parallel()
	emu, open := emulator(t)
	s := open(t, prefix)

	emu.FailNext(1, http.StatusServiceUnavailable, "ServiceUnavailable")
	err := s.Spill(t.Context(), []refresh.Pending{pending("a", "r", 1)})
	if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") {
		t.Errorf("Spill during an outage = %v, want an error naming ServiceUnavailable", err)
	}
	if keys := emu.Keys(bucketName); len(keys) != 0 {
		t.Errorf("keys after a failed Spill = %v, want none", keys)
	}

	// A name clash (another writer's object) makes Spill pick a new name.
	emu.FailNext(1, http.StatusConflict, "FileAlreadyExists")
	mustSpill(t, s, pending("b", "r", 2))
	if keys := emu.Keys(bucketName); len(keys) != 1 {
		t.Errorf("keys after a Spill that met a clash = %v, want one", keys)
	}

	emu.FailNext(1, http.StatusForbidden, "AccessDenied")
	entries, err := s.Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || entries != nil {
		t.Errorf("Load with a failing listing = %d entries, %v; want none and an AccessDenied error", len(entries), err)
	}
}

func TestOSSLoadManyPages(t *testing.T) {
	t.Parallel()
	emu, open := emulator(t)
	s := open(t, prefix)
	// 999 keys under the prefix that are not spill objects fill the first
	// ListObjectsV2 page (1,000 keys); the spill objects sort after them.
	for i := range 999 {
		emu.SetObject(bucketName, fmt.Sprintf("%s00000000000000000000-other-%04d", prefix, i), nil)
	}
	const n = 3
	for i := range n {
		name := fmt.Sprintf("%020d-%016x.json", i+1, i)
		emu.SetObject(bucketName, prefix+name, fmt.Appendf(nil, `{"version":1,"entries":[{"job":{"url":"u%d"},"reason":"r","first_seen":"2026-05-10T06:00:00Z","attempts":0}]}`, i))
	}
	var got []string
	for _, e := range mustLoad(t, s) {
		got = append(got, e.Pending.Job.URL)
	}
	if diff := cmp.Diff([]string{"u0", "u1", "u2"}, got); diff != "" {
		t.Errorf("Load across two listing pages mismatch (-want +got):\n%s", diff)
	}
}

func TestOSSBucket(t *testing.T) {
	t.Parallel()
	emu := ossemu.New(ossemu.Options{
		Buckets: []string{bucketName},
		Keys:    map[string]string{"STS.tempkey": "temp-secret"},
	})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)

	sts := refresh.Credentials{AccessKeyID: "STS.tempkey", AccessKeySecret: "temp-secret", SecurityToken: "CAIS-token"}
	s, err := spill.NewOSS(srv.URL, bucketName, prefix, sts)
	if err != nil {
		t.Fatalf("NewOSS with STS credentials error: %v", err)
	}
	mustSpill(t, s, pending("a", "r", 1))

	wrong := sts
	wrong.AccessKeySecret = "wrong-secret-value"
	s, err = spill.NewOSS(srv.URL, bucketName, prefix, wrong)
	if err != nil {
		t.Fatalf("NewOSS error: %v", err)
	}
	err = s.Spill(t.Context(), []refresh.Pending{pending("b", "r", 1)})
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("Spill with a wrong secret = %v, want SignatureDoesNotMatch", err)
	}
	if err != nil && strings.Contains(err.Error(), wrong.AccessKeySecret) {
		t.Errorf("Spill error reveals the secret: %v", err)
	}

	tests := []struct {
		name, endpoint, bucket string
		creds                  refresh.Credentials
		wantErr                string
	}{
		{"no endpoint", "", bucketName, sts, "endpoint is empty"},
		{"no credentials", srv.URL, bucketName, refresh.Credentials{}, "no credentials"},
		{"invalid bucket name", srv.URL, "Bad_Bucket", sts, `"Bad_Bucket"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := spill.OSSBucket(tt.endpoint, tt.bucket, tt.creds)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("OSSBucket(%q, %q) = %v, want an error containing %q", tt.endpoint, tt.bucket, err, tt.wantErr)
			}
		})
	}
}

// TestOSSCredentialsFromContext: a store made by NewOSS signs each call
// with the credentials its context carries (FC's per-invocation STS token),
// and without any refuses clearly.
func TestOSSCredentialsFromContext(t *testing.T) {
	t.Parallel()
	emu := ossemu.New(ossemu.Options{Buckets: []string{bucketName}, Keys: map[string]string{"STSkey1": "sts-secret-1"}})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	s, err := spill.NewOSS(srv.URL, bucketName, prefix, refresh.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Spill(t.Context(), []refresh.Pending{pending("a", "quota", 1)}); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("Spill without credentials: err = %v, want one saying there are none", err)
	}
	ctx := refresh.WithCredentials(t.Context(), refresh.Credentials{AccessKeyID: "STSkey1", AccessKeySecret: "sts-secret-1", SecurityToken: "tok"})
	if err := s.Spill(ctx, []refresh.Pending{pending("a", "quota", 1)}); err != nil {
		t.Fatalf("Spill with the invocation's credentials: %v", err)
	}
	if got, err := s.Load(ctx); err != nil || len(got) != 1 {
		t.Errorf("Load = %d entries, %v; want 1", len(got), err)
	}
	bad := refresh.WithCredentials(t.Context(), refresh.Credentials{AccessKeyID: "STSkey1", AccessKeySecret: "wrong"})
	if _, err := s.Load(bad); err == nil {
		t.Error("Load signed with a wrong secret succeeded")
	}
}
