package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/config"
)

// The Alibaba Cloud CLI (aliyun) keeps its profiles in
// ~/.aliyun/config.json: {"current": NAME, "profiles": [{"name", "mode",
// "access_key_id", "access_key_secret", "sts_token", …}]}, and
// ALIBABA_CLOUD_PROFILE names a profile to use instead of the current one
// (aliyun-cli, config/configuration.go and config/profile.go). Only the
// modes that hold a key are read: AK and StsToken.
const (
	profileFile   = ".aliyun/config.json" // under the home directory
	envProfile    = "ALIBABA_CLOUD_PROFILE"
	modeAK        = "AK"
	modeSTS       = "StsToken"
	aliyunConfigs = "aliyun configure"
)

// aliyunConfig is the part of the CLI's file cdnrefresh reads.
type aliyunConfig struct {
	Current  string          `json:"current"`
	Profiles []aliyunProfile `json:"profiles"`
}

type aliyunProfile struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	StsToken        string `json:"sts_token"`
}

// credentialsEnv returns getenv with the credentials variables
// (ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET, _SECURITY_TOKEN) taken from the
// Alibaba Cloud CLI's profile: the one named (which must exist) always;
// otherwise, when the environment sets no key, the profile
// ALIBABA_CLOUD_PROFILE names or the current one, when the file exists.
// Errors name the file and profile, never a key.
func credentialsEnv(getenv func(string) string, profile string) (func(string) string, error) {
	if profile == "" && getenv(config.EnvAccessKeyID) != "" {
		return getenv, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		if profile == "" {
			return getenv, nil
		}
		return nil, fmt.Errorf("--profile %s: no home directory to find %s in: %w", profile, profileFile, err)
	}
	name := filepath.Join(home, profileFile)
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) && profile == "" {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the Alibaba Cloud CLI's profiles: %w", err)
	}
	var c aliyunConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s is not the Alibaba Cloud CLI's JSON: %v", name, err)
	}
	want := profile
	if want == "" {
		want = getenv(envProfile)
	}
	if want == "" {
		want = c.Current
	}
	var p *aliyunProfile
	for i := range c.Profiles {
		if c.Profiles[i].Name == want {
			p = &c.Profiles[i]
		}
	}
	switch {
	case p == nil && profile == "" && getenv(envProfile) == "":
		return getenv, nil // no current profile: no credentials from the file
	case p == nil:
		return nil, fmt.Errorf("%s has no profile %q (run %s --profile %s)", name, want, aliyunConfigs, want)
	}
	mode := p.Mode
	if mode == "" {
		mode = modeAK
	}
	switch {
	case !strings.EqualFold(mode, modeAK) && !strings.EqualFold(mode, modeSTS):
		return nil, fmt.Errorf("profile %q of %s has mode %s; cdnrefresh reads keys of modes AK and StsToken only: set %s and %s instead",
			p.Name, name, p.Mode, config.EnvAccessKeyID, config.EnvAccessKeySecret)
	case p.AccessKeyID == "" || p.AccessKeySecret == "":
		return nil, fmt.Errorf("profile %q of %s has no access key (run %s --profile %s)", p.Name, name, aliyunConfigs, p.Name)
	case strings.EqualFold(mode, modeSTS) && p.StsToken == "":
		return nil, fmt.Errorf("profile %q of %s has mode StsToken but no sts_token", p.Name, name)
	}
	token := ""
	if strings.EqualFold(mode, modeSTS) {
		token = p.StsToken
	}
	creds := map[string]string{
		config.EnvAccessKeyID:     p.AccessKeyID,
		config.EnvAccessKeySecret: p.AccessKeySecret,
		config.EnvSecurityToken:   token,
	}
	return func(k string) string {
		if v, ok := creds[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}
