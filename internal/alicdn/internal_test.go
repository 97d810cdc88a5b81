package alicdn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, scheme, host string
	}{
		{"http://127.0.0.1:8765", "HTTP", "127.0.0.1:8765"},
		{"http://127.0.0.1:8765/", "HTTP", "127.0.0.1:8765"},
		{"https://cdn.example.internal", "HTTPS", "cdn.example.internal"},
		{"127.0.0.1:8765", "HTTP", "127.0.0.1:8765"},
		{"localhost:8765", "HTTP", "localhost:8765"},
		{"[::1]:8765", "HTTP", "[::1]:8765"},
		{"cdn-vpc.aliyuncs.com", "HTTPS", "cdn-vpc.aliyuncs.com"},
		{"10.0.0.5:443", "HTTPS", "10.0.0.5:443"},
	}
	for _, tt := range tests {
		scheme, host, err := parseEndpoint(tt.in)
		if err != nil || scheme != tt.scheme || host != tt.host {
			t.Errorf("parseEndpoint(%q) = %q, %q, %v, want %q, %q", tt.in, scheme, host, err, tt.scheme, tt.host)
		}
	}
}

func TestVerdictOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		status int
		want   refresh.Verdict
	}{
		{"QuotaExceeded.Refresh", 400, refresh.QuotaSpent},
		{"QuotaExceeded.Preload", 400, refresh.QuotaSpent},
		{"QuotaPerMinuteExceeded.Refresh", 400, refresh.Retry},
		{"TooMany.Refresh", 400, refresh.Retry},
		{"PreloadQueueFull", 400, refresh.Retry},
		{"ServiceBusy", 403, refresh.Retry},
		{"Throttling", 503, refresh.Retry},
		{"Throttling.User", 400, refresh.Retry},
		{"Throttling.Whatever", 400, refresh.Retry},
		{"TooManyRequests", 429, refresh.Retry},
		{"InternalError", 500, refresh.Retry},
		{"ServiceUnavailable", 503, refresh.Retry},
		{"SomethingNew", 502, refresh.Retry},
		{"SomethingNew", 429, refresh.Retry},
		{"InvalidObjectPath.Malformed", 400, refresh.SplitURLs},
		{"InvalidObjectPath.Anything", 400, refresh.SplitURLs},
		{"ObjectPath.Malformed", 400, refresh.SplitURLs},
		{"SingleRequest.OverLimit", 400, refresh.SplitURLs},
		{"InvalidDomain.NotFound", 404, refresh.SplitDomains},
		{"InvalidDomain.Configure_failed", 500, refresh.SplitDomains},
		{"InvalidExtensiveDomain.ValueNotSupported", 400, refresh.SplitDomains},
		{"InvalidObjectType.ValueNotSupported", 400, refresh.Reject},
		{"Forbidden.RAM", 403, refresh.Keep},
		{"Forbidden", 403, refresh.Keep},
		{"SignatureDoesNotMatch", 400, refresh.Keep},
		{"IncompleteSignature", 400, refresh.Keep},
		{"InvalidAccessKeyId.NotFound", 404, refresh.Keep},
		{"MissingParameter", 400, refresh.Reject},
		{"IllegalOperation", 403, refresh.SplitDomains},
		{"OperationDenied", 403, refresh.Keep},
		{"InvalidTimeStamp.Expired", 400, refresh.Keep},
		{"SomethingNew", 400, refresh.Reject}, // after one retry (TestUndocumented4xx)
		{"SomethingNew", 302, refresh.Keep},
		{"InvalidParameters", 400, refresh.Reject},
		{"InvalidStations.Malformed", 400, refresh.Reject},
		{"InvalidObjectType.Malformed", 400, refresh.Reject},
	}
	for _, tt := range tests {
		if got := VerdictOf(tt.code, tt.status); got != tt.want {
			t.Errorf("VerdictOf(%q, %d) = %v, want %v", tt.code, tt.status, got, tt.want)
		}
	}
}

func TestAPIErrorText(t *testing.T) {
	t.Parallel()
	e := &APIError{API: "RefreshObjectCaches", Status: 400, Code: "QuotaExceeded.Refresh", Message: "Your refresh attempts have exceeded the daily limit.", RequestID: "RID-1"}
	want := "alicdn: RefreshObjectCaches: QuotaExceeded.Refresh (HTTP 400, request RID-1): Your refresh attempts have exceeded the daily limit."
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestClassifyScrubs(t *testing.T) {
	t.Parallel()
	creds := redactor(refresh.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "topsecret", SecurityToken: "tok+en/=="})
	body := `{"RequestId":"R","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAIkey%26SecurityToken%3Dtok%252Ben"}`
	err := classify("RefreshObjectCaches", sdkerrors.NewServerError(400, body, ""), creds)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" || ae.RequestID != "R" {
		t.Fatalf("classify(server error) = %#v", err)
	}
	if ae.Message != "Specified signature is not matched with our calculation." {
		t.Errorf("Message = %q, want the text before the string to sign", ae.Message)
	}

	ue := &url.Error{Op: "Post", URL: "http://h/?AccessKeyId=LTAIkey&SecurityToken=tok%2Ben%2F%3D%3D&Signature=abc", Err: fmt.Errorf("dial tcp: refused; token tok+en/==")}
	err = classify("PushObjectCache", ue, creds)
	var te *TransportError
	if !errors.As(err, &te) || te.Code != "NetworkError" {
		t.Fatalf("classify(url error) = %#v, want a NetworkError", err)
	}
	for _, leak := range []string{"Signature=", "LTAIkey", "tok+en/=="} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q contains %q", err, leak)
		}
	}

	ce := sdkerrors.NewClientError("SDK.JsonUnmarshalError", "Failed to unmarshal response", errors.New("bad json"))
	if err := classify("DescribeRefreshTasks", ce, creds); !errors.As(err, &te) || te.Code != "SDK.JsonUnmarshalError" || verdict(err) != refresh.Retry {
		t.Errorf("classify(client error) = %#v, want a retryable TransportError", err)
	}

	html := sdkerrors.NewServerError(502, "<html>bad gateway</html>", "")
	if err := classify("RefreshObjectCaches", html, creds); !errors.As(err, &ae) || ae.Code != "HTTP502" || verdict(err) != refresh.Retry {
		t.Errorf("classify(502 html) = %#v, want a retryable HTTP502", err)
	}
}

func TestRetryCeiling(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{}.withDefaults()
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, p.ceiling(n))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ceiling(%d) = %v, want %v", i+1, got[i], want[i])
		}
	}
}

// verdict is the verdict err carries.
func verdict(err error) refresh.Verdict {
	v, _ := refresh.FailureOf(err)
	return v
}
