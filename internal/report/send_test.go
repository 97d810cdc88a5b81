package report

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeSender counts its sends and fails with err when set.
type fakeSender struct {
	name  string
	err   error
	calls atomic.Int32
}

func (f *fakeSender) Name() string { return f.name }

func (f *fakeSender) Send(context.Context, Report) error {
	f.calls.Add(1)
	return f.err
}

// TestSendOneFailureHidesNoOther: every channel gets the report once,
// whatever the others do; failures are listed in the channels' order.
func TestSendOneFailureHidesNoOther(t *testing.T) {
	tests := []struct {
		name         string
		errs         []error
		wantSent     []string
		wantFailures []string
	}{
		{"all delivered", []error{nil, nil, nil}, []string{"c0", "c1", "c2"}, nil},
		{"the middle one fails", []error{nil, errors.New("notify c1: 93000"), nil}, []string{"c0", "c2"}, []string{"notify c1: 93000"}},
		{"all fail", []error{errors.New("e0"), errors.New("e1"), errors.New("e2")}, []string{}, []string{"e0", "e1", "e2"}},
		{"no channel", nil, []string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fakes []*fakeSender
			var chans []Sender
			for i, err := range tt.errs {
				f := &fakeSender{name: "c" + string(rune('0'+i)), err: err}
				fakes = append(fakes, f)
				chans = append(chans, f)
			}
			sent, failures := send(context.Background(), chans, Report{})
			if diff := cmp.Diff(tt.wantSent, sent); diff != "" {
				t.Errorf("send() sent mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFailures, failures); diff != "" {
				t.Errorf("send() failures mismatch (-want +got):\n%s", diff)
			}
			for _, f := range fakes {
				if n := f.calls.Load(); n != 1 {
					t.Errorf("%s got %d sends, want 1", f.name, n)
				}
			}
		})
	}
}
