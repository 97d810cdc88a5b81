package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// MinSecretBytes is the shortest webhook secret accepted: an HMAC key much
// shorter than its output can be guessed by trying.
const MinSecretBytes = 16

// maxEnvBytes is what Function Compute and Lambda allow for all of a
// function's environment variables together.
const maxEnvBytes = 4 << 10

// checkSources refuses two config sources at once (which one would win
// is a guess) and an inline config that no platform would accept.
func checkSources(file, inline string) error {
	switch {
	case file != "" && inline != "":
		return fmt.Errorf("config: both %s (%s) and %s are set: set only one", EnvConfig, file, EnvConfigYAML)
	case len(inline) > maxEnvBytes:
		return fmt.Errorf("config: %s is %d bytes: Function Compute and Lambda allow 4 KB for all environment variables together: put the YAML in a file named by %s",
			EnvConfigYAML, len(inline), EnvConfig)
	}
	return nil
}

// noteVars records in cfg which secrets the file gives as ${NAME}, so that
// a check that finds one unset names NAME.
func (d *decoder) noteVars(cfg *Config) {
	cfg.Webhook.SecretVar = d.vars["webhook.secret"]
	for i := range cfg.Notify.Channels {
		ch := &cfg.Notify.Channels[i]
		ch.URLVar = d.vars[fmt.Sprintf("notify.channels[%d].url", i)]
		ch.SecretVar = d.vars[fmt.Sprintf("notify.channels[%d].secret", i)]
	}
}

// spillConflict refuses two spill stores in the file: spill.dir beside
// spill.oss (OSS would win, silently). CDNREFRESH_SPILL_DIR is no
// conflict: it applies only when the file names no spill store.
func (d *decoder) spillConflict(cfg *Config) []error {
	if !d.set["spill.oss"] || cfg.Spill.OSS == nil || !d.set["spill.dir"] {
		return nil
	}
	return []error{fmt.Errorf("spill: dir (line %d) and oss (line %d) both name the spill store: give one",
		d.lines["spill.dir"], d.lines["spill.oss"])}
}

// secretErrors refuses a webhook secret too short to key an HMAC safely,
// naming the variable it came from but never the value.
func secretErrors(w Webhook) []error {
	n := len(w.Secret)
	if n == 0 || n >= MinSecretBytes {
		return nil
	}
	from := "the secret"
	if w.SecretVar != "" {
		from = w.SecretVar
	}
	unit := "bytes"
	if n == 1 {
		unit = "byte"
	}
	return []error{fmt.Errorf("webhook.secret: %s is %d %s long: give at least %d (openssl rand -hex 32 makes one)", from, n, unit, MinSecretBytes)}
}

// ruleConflicts finds rules that can never fire: the first rule that
// matches a key wins (and an excluded key is not offered on), so a rule
// whose every key an earlier rule matches is dead, and so is a copy.
func ruleConflicts(rules []Rule) []error {
	var errs []error
	for j, later := range rules {
		for i, earlier := range rules[:j] {
			if reflect.DeepEqual(earlier, later) {
				errs = append(errs, fmt.Errorf("%s: identical to rules[%d]: remove one", later.Label(j), i))
				break
			}
			if earlier.covers(later) {
				errs = append(errs, fmt.Errorf("%s: never used: %s comes first and matches every key it would (the first rule that matches a key wins): list the narrower rule first",
					later.Label(j), earlier.Label(i)))
				break
			}
		}
	}
	return errs
}

// covers reports whether r matches every key that s matches: the same
// bucket, a prefix of s's prefix, and a suffix that every suffix of s ends
// with (or none).
func (r Rule) covers(s Rule) bool {
	if r.Bucket != s.Bucket || !strings.HasPrefix(s.Prefix, r.Prefix) {
		return false
	}
	if len(r.Suffix) == 0 {
		return true
	}
	if len(s.Suffix) == 0 {
		return false
	}
	for _, ss := range s.Suffix {
		if !slices.ContainsFunc(r.Suffix, func(rs string) bool { return strings.HasSuffix(ss, rs) }) {
			return false
		}
	}
	return true
}
