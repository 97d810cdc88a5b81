// Package apptest runs a function the way Function Compute does, for tests:
// a CDN API emulator on loopback, the App assembled from a YAML config
// pointed at it, the function's handlers behind the FC custom-runtime
// server, and requests posted with the headers FC sends.
package apptest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cdnrefresh/cdnrefresh/internal/app"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/platform"
	"github.com/cdnrefresh/cdnrefresh/internal/platform/fc"
)

// Env is a running function and the emulator behind it.
type Env struct {
	CDN    *cdn.Server // the CDN API emulator: its Calls() are what reached the API
	App    *app.App
	URL    string // base URL of the function's FC server
	Client *http.Client
	seq    atomic.Int64
}

// Options tune Start.
type Options struct {
	CDN    cdn.Options       // emulator options
	Getenv map[string]string // environment for ${NAME} in the config
	App    app.Options
	Log    io.Writer // the function's log (FC's stdout); default discarded
}

// Start assembles an App from configYAML as NewApp does, aimed at a new
// emulator, serves the handlers serve returns (a function's, as app.Main
// takes them) as FC would, and stops both when the test ends.
func Start(t testing.TB, configYAML string, o Options, serve func(*app.App) (platform.Handlers, error)) *Env {
	t.Helper()
	emu, endpoint := Emulator(t, o.CDN)
	a := NewApp(t, configYAML, endpoint, o.Getenv, o.App)
	h, err := serve(a)
	if err != nil {
		t.Fatalf("the function's handlers: %v", err)
	}
	out := o.Log
	if out == nil {
		out = io.Discard
	}
	fs := httptest.NewServer(&fc.Server{Event: h.Event, HTTP: h.HTTP, Out: out})
	t.Cleanup(fs.Close)
	return &Env{CDN: emu, App: a, URL: fs.URL, Client: fs.Client()}
}

// Invoke posts an event to the function exactly as FC posts an event
// invocation to a custom runtime (x-fc-control-path /invoke, the role's STS
// credentials in headers), and returns the x-fc-status and the body.
func (e *Env) Invoke(t testing.TB, event []byte, header http.Header) (int, []byte) {
	t.Helper()
	req, err := NewInvokeRequest(context.Background(), e.URL, e.next(), event)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return e.do(t, req)
}

// HTTP sends req to the function as FC's HTTP trigger passes it through
// (x-fc-control-path /http-invoke), and returns the status and the body.
func (e *Env) HTTP(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	u := *req.URL
	base, _ := http.NewRequest(req.Method, e.URL, nil)
	u.Scheme, u.Host = base.URL.Scheme, base.URL.Host
	req.URL = &u
	req.Host = u.Host
	e.next().fc().SetHTTPHeaders(req.Header)
	return e.do(t, req)
}

// next names the next invocation of this Env.
func (e *Env) next() Invocation {
	return Invocation{RequestID: "1-6740a1b2-" + strconv.FormatInt(e.seq.Add(1), 10)}
}

func (e *Env) do(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fc.Status(resp), body
}
