package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	emu "github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// profiles is an Alibaba Cloud CLI config.json as `aliyun configure`
// writes it (its own key names), with the emulator's second key in
// profile "ops".
const profiles = `{
	"current": "ops",
	"profiles": [
		{"name": "default", "mode": "AK", "access_key_id": "LTAIwrongKey", "access_key_secret": "wrong-secret-1234", "region_id": "cn-hangzhou", "output_format": "json", "language": "en"},
		{"name": "ops", "mode": "AK", "access_key_id": "LTAIopsKey", "access_key_secret": "ops-secret-5678", "region_id": "cn-shanghai"},
		{"name": "sts", "mode": "StsToken", "access_key_id": "STS.opsKey", "access_key_secret": "sts-secret-9012", "sts_token": "CAIS-token-3456"},
		{"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAIroleKey", "access_key_secret": "role-secret-7890", "ram_role_arn": "acs:ram::1:role/x"},
		{"name": "empty", "mode": "AK"}
	],
	"meta_path": ""
}`

// TestProfileCredentials refreshes with credentials from the environment
// or from the Alibaba Cloud CLI's profile file, and checks which key the
// API saw, the exit code, and that no secret is ever printed.
func TestProfileCredentials(t *testing.T) {
	tests := []struct {
		name     string
		file     string // the profile file; "" for none
		env      bool   // ALIBABA_CLOUD_ACCESS_KEY_* set
		envName  string // ALIBABA_CLOUD_PROFILE
		profile  string // --profile
		wantCode int
		wantKey  string // the key the API saw
		wantSTS  bool
		wantErr  string
	}{
		{name: "environment", env: true, wantKey: emu.AccessKeyID},
		{name: "environment wins over the current profile", file: profiles, env: true, wantKey: emu.AccessKeyID},
		{name: "current profile", file: profiles, wantKey: "LTAIopsKey"},
		{name: "ALIBABA_CLOUD_PROFILE", file: profiles, envName: "sts", wantKey: "STS.opsKey", wantSTS: true},
		{name: "--profile wins over the environment", file: profiles, env: true, profile: "sts", wantKey: "STS.opsKey", wantSTS: true},
		{name: "--profile unknown", file: profiles, profile: "prod", wantCode: 2, wantErr: `no profile "prod"`},
		{name: "--profile without a file", profile: "ops", wantCode: 2, wantErr: "config.json"},
		{name: "mode without a key", file: profiles, profile: "role", wantCode: 2, wantErr: "has mode RamRoleArn"},
		{name: "profile without a key", file: profiles, profile: "empty", wantCode: 2, wantErr: "has no access key"},
		{name: "not JSON", file: "current = ops", wantCode: 2, wantErr: "not the Alibaba Cloud CLI's JSON"},
		{name: "no credentials at all", wantCode: 3, wantErr: "no credentials"},
		{name: "refused key", file: profiles, profile: "default", wantCode: 3, wantErr: "nothing was submitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t, emu.Options{Keys: map[string]string{
				emu.AccessKeyID: emu.AccessKeySecret, "LTAIopsKey": "ops-secret-5678", "STS.opsKey": "sts-secret-9012",
			}})
			if !tt.env {
				t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
				t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
			}
			t.Setenv("ALIBABA_CLOUD_PROFILE", tt.envName)
			if tt.file != "" {
				dir := filepath.Join(os.Getenv("HOME"), ".aliyun")
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, "config.json", tt.file)
			}
			args := []string{"refresh", "https://a.example.com/x"}
			if tt.profile != "" {
				args = append(args, "--profile", tt.profile)
			}
			code, stdout, stderr := s.run(t, "", args...)
			if code != tt.wantCode {
				t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, tt.wantCode, stdout, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
			for _, secret := range []string{"secret-1234", "secret-5678", "secret-9012", "secret-7890", "token-3456", emu.AccessKeySecret} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("output shows the secret %q:\n%s\n%s", secret, stdout, stderr)
				}
			}
			if tt.wantKey == "" {
				return
			}
			calls := s.emu.Calls()
			if len(calls) == 0 {
				t.Fatal("the API saw no call")
			}
			if c := calls[len(calls)-1]; c.AccessKeyID != tt.wantKey || c.SecurityToken != tt.wantSTS {
				t.Errorf("the API saw key %q, token %v; want %q, token %v", c.AccessKeyID, c.SecurityToken, tt.wantKey, tt.wantSTS)
			}
		})
	}
}
