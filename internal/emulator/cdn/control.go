package cdn

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// The control endpoints, on the emulator's own address:
//
//	GET  /_emulator/faults   the faults injected now
//	POST /_emulator/faults   replace them: {"throttle_rate":0.3,"fail_rate":0.1,
//	                         "delay":"200ms","delay_rate":0.5,"task_fail_rate":0.2,
//	                         "next":["ServiceBusy"],"actions":["RefreshObjectCaches"]}
//	GET  /_emulator/stats    Stats as JSON
//	POST /_emulator/reset    ResetAll: quotas, tasks, counters, faults back to start
//
// They are unsigned, for a tool on the same machine: they answer loopback
// clients only, and refuse any request that carries an API request's
// Action, Signature or AccessKeyId, so that a signed API request never
// reaches them by accident (the SDKs send API requests to "/").
const controlPrefix = "/_emulator/"

// FaultsJSON is the body of POST /_emulator/faults and the answer of
// GET /_emulator/faults.
type FaultsJSON struct {
	ThrottleRate float64  `json:"throttle_rate"`
	FailRate     float64  `json:"fail_rate"`
	Delay        string   `json:"delay,omitempty"` // a Go duration, e.g. "250ms"
	DelayRate    float64  `json:"delay_rate"`      // 0 with a Delay: every request
	TaskFailRate float64  `json:"task_fail_rate"`
	Next         []string `json:"next,omitempty"`    // error codes for the next requests, one each
	Actions      []string `json:"actions,omitempty"` // limit the request faults to these actions
}

// Faults converts j, checking every field.
func (j FaultsJSON) Faults() (Faults, error) {
	f := Faults{
		Throttle: j.ThrottleRate, ServerError: j.FailRate, DelayProb: j.DelayRate,
		TaskFail: j.TaskFailRate, Next: j.Next, Actions: j.Actions,
	}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return Faults{}, fmt.Errorf("delay %q is not a duration such as 250ms", j.Delay)
		}
		f.Delay = d
	}
	return f, f.Check()
}

// FaultsJSONOf converts f for the wire.
func FaultsJSONOf(f Faults) FaultsJSON {
	j := FaultsJSON{
		ThrottleRate: f.Throttle, FailRate: f.ServerError, DelayRate: f.DelayProb,
		TaskFailRate: f.TaskFail, Next: f.Next, Actions: f.Actions,
	}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	return j
}

// control serves the control endpoints.
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !isLoopback(host) {
		controlError(w, http.StatusForbidden, "the control endpoints answer loopback clients only")
		return
	}
	for _, p := range []string{"Action", "Signature", "AccessKeyId"} {
		if r.URL.Query().Has(p) {
			controlError(w, http.StatusBadRequest, "an API request (it carries "+p+") is not a control request; send API requests to /")
			return
		}
	}
	switch r.URL.Path {
	case controlPrefix + "faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, "", http.StatusOK, FaultsJSONOf(s.Faults()))
		case http.MethodPost:
			var j FaultsJSON
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&j); err != nil {
				controlError(w, http.StatusBadRequest, "decode faults: "+err.Error())
				return
			}
			f, err := j.Faults()
			if err != nil {
				controlError(w, http.StatusBadRequest, err.Error())
				return
			}
			s.Inject(f)
			writeJSON(w, "", http.StatusOK, FaultsJSONOf(s.Faults()))
		default:
			notAllowed(w, "GET, POST")
		}
	case controlPrefix + "stats":
		if r.Method != http.MethodGet {
			notAllowed(w, "GET")
			return
		}
		writeJSON(w, "", http.StatusOK, s.Stats())
	case controlPrefix + "reset":
		if r.Method != http.MethodPost {
			notAllowed(w, "POST")
			return
		}
		s.ResetAll()
		writeJSON(w, "", http.StatusOK, map[string]bool{"reset": true})
	default:
		controlError(w, http.StatusNotFound, "no control endpoint "+r.URL.Path+"; there are "+controlPrefix+"faults, stats and reset")
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	controlError(w, http.StatusMethodNotAllowed, "method not allowed; use "+allow)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, "", status, map[string]string{"error": msg})
}
