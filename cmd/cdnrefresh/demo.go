package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
	"github.com/cdnrefresh/cdnrefresh/internal/trigger"
)

// runDemo starts the CDN emulator and the oss-refresh function binary (as
// FC would: a process listening on FC_CUSTOM_LISTEN_PORT), posts every
// OSS/S3 sample in the events folder to it exactly as FC posts an event,
// and prints, for each, the function's answer and the calls that reached
// the CDN API.
func runDemo(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	fn := fs.String("function", "bin/oss-refresh", "the oss-refresh function `BINARY` (make demo builds it)")
	cfgFile := fs.String("config", "events/config.yaml", "config `FILE` for the function")
	dir := fs.String("events", "events", "`FOLDER` of sample events")
	logFile := fs.String("log", "var/demo/oss-refresh.log", "where the function's own log goes")
	if err := parse(fs, args); err != nil {
		return err
	}
	samples, err := demoSamples(*dir)
	if err != nil {
		return err
	}

	// The CDN API emulator, in this process so that we can read what it got.
	emu := cdn.New(cdn.Options{})
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ectx, stopEmu := context.WithCancel(ctx)
	defer stopEmu()
	go serve(ectx, eln, emu)
	fmt.Fprintf(stdout, "CDN API emulator listening on http://%s\n", eln.Addr())

	// The function, as FC runs it.
	port, err := freePort()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*logFile), 0o755); err != nil {
		return err
	}
	logOut, err := os.Create(*logFile)
	if err != nil {
		return err
	}
	defer logOut.Close()
	cmd := exec.CommandContext(ctx, *fn)
	cmd.Env = append(demoEnv(os.Environ()),
		"FC_CUSTOM_LISTEN_PORT="+strconv.Itoa(port),
		"CDNREFRESH_CONFIG="+*cfgFile,
		"CDNREFRESH_CDN_ENDPOINT=http://"+eln.Addr().String(),
	)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (run `make demo`, which builds it): %w", *fn, err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	fnAddr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitListening(ctx, fnAddr, cmd, 30*time.Second); err != nil {
		return fmt.Errorf("%s did not start (see %s): %w", *fn, *logFile, err)
	}
	fmt.Fprintf(stdout, "oss-refresh (%s) serving FC's custom-runtime protocol on http://%s; its log: %s\n\n", *fn, fnAddr, *logFile)

	client := &http.Client{Timeout: 90 * time.Second}
	seen := 0
	var total refresh.Report
	for i, s := range samples {
		raw, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		ans, status, err := invokeFC(ctx, client, fnAddr, fmt.Sprintf("demo-%02d", i+1), raw)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		calls := emu.Calls()
		fmt.Fprintf(stdout, "▶ %s — %s\n", filepath.Base(s), describeEvent(raw))
		printAnswer(stdout, ans, status)
		printCalls(stdout, calls[seen:])
		seen = len(calls)
		var r refresh.Report
		if json.Unmarshal(ans, &r) == nil {
			total.Merge(r)
		}
		fmt.Fprintln(stdout)
	}
	st := emu.Stats()
	fmt.Fprintf(stdout, "%d events: %d changes, %d ignored, %d submitted, %d duplicate, %d spilled, %d rejected, %d waiting for their purge\n",
		len(samples), total.Changes, total.Ignored, total.Submitted, total.Duplicate, total.Spilled, total.Rejected, total.Waiting)
	fmt.Fprintf(stdout, "The CDN API accepted %d requests carrying %d URLs, all signed with the function's per-invocation STS credentials (%d of %d).\n",
		st.Accepted, st.URLs, st.STS, st.Requests)
	return nil
}

// demoSamples lists the OSS and S3 samples, in name order.
func demoSamples(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"oss-*.json", "s3-*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no oss-*.json or s3-*.json samples in %s", dir)
	}
	sort.Strings(out)
	return out, nil
}

// demoEnv drops real credentials from the environment: the demo signs with
// the emulator's keys, passed per invocation as FC does.
func demoEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "ALIBABA_CLOUD_") || strings.HasPrefix(kv, "CDNREFRESH_") || strings.HasPrefix(kv, "FC_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(ctx context.Context, addr string, cmd *exec.Cmd, limit time.Duration) error {
	exited := make(chan struct{})
	go func() {
		// ProcessState is set by Wait, which the caller runs later; poll instead.
		for cmd.ProcessState == nil {
			if err := cmd.Process.Signal(syscallZero); err != nil {
				close(exited)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listening on %s after %v", addr, limit)
}

// invokeFC posts an event exactly as Function Compute posts one to a
// custom runtime, with the emulator's key as the role's STS credentials.
func invokeFC(ctx context.Context, client *http.Client, addr, requestID string, body []byte) ([]byte, int, error) {
	inv := fc.Invoke{
		RequestID: requestID, FunctionName: "cdnrefresh-oss-refresh", Timeout: 60,
		Credentials: refresh.Credentials{AccessKeyID: cdn.AccessKeyID, AccessKeySecret: cdn.AccessKeySecret, SecurityToken: "demo-sts-token"},
	}
	req, err := inv.NewEventRequest(ctx, "http://"+addr, body)
	if err != nil {
		return nil, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, fc.Status(resp), err
}

func describeEvent(raw []byte) string {
	ev, err := trigger.Parse(raw)
	if err != nil {
		return "undecodable: " + err.Error()
	}
	var parts []string
	for _, c := range ev.Changes {
		parts = append(parts, fmt.Sprintf("%s %s/%s", c.Op, c.Bucket, c.Key))
	}
	for _, ig := range ev.Ignored {
		parts = append(parts, fmt.Sprintf("ignored %s (%s)", ig.Key, ig.Reason))
	}
	return strings.Join(parts, "; ")
}

func printAnswer(w io.Writer, ans []byte, status int) {
	var r refresh.Report
	if status != http.StatusOK || json.Unmarshal(ans, &r) != nil {
		fmt.Fprintf(w, "  answer (failed, x-fc-status %d): %s\n", status, bytes.TrimSpace(ans))
		return
	}
	fmt.Fprintf(w, "  answer: changes=%d ignored=%d submitted=%d duplicate=%d spilled=%d rejected=%d waiting=%d tasks=%v\n",
		r.Changes, r.Ignored, r.Submitted, r.Duplicate, r.Spilled, r.Rejected, r.Waiting, r.Tasks)
	for _, ig := range r.IgnoredKeys {
		fmt.Fprintf(w, "    ignored  %s: %s\n", ig.Key, ig.Reason)
	}
	for _, o := range r.Outcomes {
		extra := o.TaskID
		if o.Reason != "" {
			extra = o.Reason
		}
		fmt.Fprintf(w, "    %-9s %-8s %s  %s\n", o.Status, o.Job.Action, o.Job.URL, extra)
	}
}

func printCalls(w io.Writer, calls []cdn.Call) {
	if len(calls) == 0 {
		fmt.Fprintln(w, "  CDN API: no calls")
		return
	}
	fmt.Fprintln(w, "  CDN API received:")
	for _, c := range calls {
		if len(c.URLs) == 0 {
			fmt.Fprintf(w, "    %s (the plan reads the remaining daily quota; cached 30 s)\n", c.Action)
			continue
		}
		typ := ""
		if c.ObjectType != "" {
			typ = " ObjectType=" + c.ObjectType
		}
		fmt.Fprintf(w, "    %s%s, %d URL(s), task %s\n", c.Action, typ, len(c.URLs), c.TaskID)
		for _, u := range c.URLs {
			fmt.Fprintf(w, "      %s\n", u)
		}
	}
}
