package config

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// TestDecodeAgreesWithYAML checks that the decoder reads the full example
// as yaml/v3's strict decoder (KnownFields(true)) does, and refuses the
// unknown keys it refuses.
func TestDecodeAgreesWithYAML(t *testing.T) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Expanding ${NAME} to itself leaves the text as yaml/v3 sees it.
	same := func(name string) string { return "${" + name + "}" }
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{"full example", full, false},
		{"unknown rule key", []byte("rules: [{bucket: b, domain: x}]\n"), true},
		{"unknown section key", []byte("window: {durations: 2s}\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want Config
			dec := yaml.NewDecoder(bytes.NewReader(tt.data))
			dec.KnownFields(true)
			yamlErr := dec.Decode(&want)

			var got Config
			d := decoder{getenv: same, set: map[string]bool{}}
			d.decode(tt.data, &got)

			if (yamlErr != nil) != tt.wantErr || (len(d.errs) > 0) != tt.wantErr {
				t.Fatalf("yaml/v3 error = %v, decoder errors = %v, want errors: %v", yamlErr, d.errs, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoder and yaml/v3 differ (-yaml/v3 +decoder):\n%s", diff)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"A": "1", "B": "two", "E": ""}[k] }
	tests := []struct {
		in, want     string
		names, unset []string
		wantErr      string
	}{
		{in: "plain", want: "plain"},
		{in: "cost $5", want: "cost $5"},
		{in: "${A}", want: "1", names: []string{"A"}},
		{in: "x${A}y${B}z", want: "x1ytwoz", names: []string{"A", "B"}},
		{in: "$${A}", want: "${A}"},
		{in: "${E}", want: "", names: []string{"E"}, unset: []string{"E"}},
		{in: "${A}${NOPE}", want: "1", names: []string{"A", "NOPE"}, unset: []string{"NOPE"}},
		{in: "${}", wantErr: `"${}" is not a reference`},
		{in: "${1A}", wantErr: `"${1A}" is not a reference`},
		{in: "${A", wantErr: `"${A" has no closing }`},
	}
	for _, tt := range tests {
		got, names, unset, err := expand(tt.in, getenv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("expand(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want || !cmp.Equal(names, tt.names) || !cmp.Equal(unset, tt.unset) {
			t.Errorf("expand(%q) = %q, %q, %q, want %q, %q, %q", tt.in, got, names, unset, tt.want, tt.names, tt.unset)
		}
	}
}
