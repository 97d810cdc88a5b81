package functions_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/app/apptest"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
)

// TestLogIsJSON runs the function binary with Redis named but down, so
// that go-redis has something to say, and checks that every line the
// process writes (stdout and stderr) is a JSON record, or one of the
// plain "FC Invoke Start/End" lines FC's console groups logs by, and that
// go-redis's own lines are among the records.
func TestLogIsJSON(t *testing.T) {
	t.Parallel()
	port, err := freePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(killConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, endpoint := apptest.Emulator(t, cdn.Options{TaskDuration: -1})
	f := startFunction(t, functionBinary(t), []string{
		"CDNREFRESH_CONFIG=" + cfgFile,
		"CDNREFRESH_CDN_ENDPOINT=" + endpoint,
		"CDNREFRESH_SPILL_DIR=" + filepath.Join(dir, "spill"),
		"CDNREFRESH_REDIS_URL=redis://127.0.0.1:" + strconv.Itoa(port) + "/0",
	}, "instance-1")
	event := apptest.OSSEvent("my-site", "663DA2EF9C0E4B3837A1C2F1", "static/a.js")
	if _, _, err := apptest.PostInvoke(t.Context(), http.DefaultClient, f.url, apptest.Invocation{RequestID: "req-1"}, event); err != nil {
		t.Fatalf("invoke: %v\n%s", err, f.log())
	}
	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, f.log())
	}

	goRedis := 0
	for line := range strings.Lines(f.log()) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "FC Invoke Start RequestId: ") || strings.HasPrefix(line, "FC Invoke End RequestId: ") {
			continue
		}
		var rec struct {
			Msg    string `json:"msg"`
			Source string `json:"source"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec.Source == "go-redis" {
			goRedis++
		}
	}
	if goRedis == 0 {
		t.Errorf("no go-redis record in the log, though Redis is down:\n%s", f.log())
	}
}
