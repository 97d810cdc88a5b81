package oss_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/google/go-cmp/cmp"

	ossemu "github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
)

const bucketName = "site-bucket"

// setup starts an emulator holding bucketName and returns it with its URL.
func setup(t *testing.T, opts ossemu.Options) (*ossemu.Server, string) {
	t.Helper()
	if opts.Buckets == nil {
		opts.Buckets = []string{bucketName}
	}
	emu := ossemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

// bucket returns a real SDK client for bucket name at endpoint.
func bucket(t *testing.T, endpoint, id, secret, name string, opts ...oss.ClientOption) *oss.Bucket {
	t.Helper()
	c, err := oss.New(endpoint, id, secret, opts...)
	if err != nil {
		t.Fatalf("oss.New(%q) error: %v", endpoint, err)
	}
	b, err := c.Bucket(name)
	if err != nil {
		t.Fatalf("Client.Bucket(%q) error: %v", name, err)
	}
	return b
}

func defaultBucket(t *testing.T) (*ossemu.Server, *oss.Bucket) {
	t.Helper()
	emu, url := setup(t, ossemu.Options{})
	return emu, bucket(t, url, ossemu.AccessKeyID, ossemu.AccessKeySecret, bucketName)
}

// serviceError asserts err is an oss.ServiceError with status and code.
func serviceError(t *testing.T, op string, err error, status int, code string) {
	t.Helper()
	var se oss.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("%s error = %v, want oss.ServiceError %d %s", op, err, status, code)
	}
	if se.StatusCode != status || se.Code != code {
		t.Errorf("%s error = %d %q, want %d %q (%v)", op, se.StatusCode, se.Code, status, code, err)
	}
	if len(se.RequestID) != 24 {
		t.Errorf("%s error RequestID = %q, want 24 hex digits from X-Oss-Request-Id", op, se.RequestID)
	}
}

func TestObjectRoundTrip(t *testing.T) {
	t.Parallel()
	_, b := defaultBucket(t)
	keys := []struct{ name, key string }{
		{"plain", "index.html"},
		{"nested", "static/img/a.png"},
		{"space plus and non-ASCII", "dir/中文 a+b.txt"},
		{"percent and query characters", "100% sure?a=b&c#d.txt"},
		{"reserved punctuation", "a~b*c'd(e)f!g,h;i:j@k$l.txt"},
		{"double slash inside", "a//b.txt"},
	}
	for _, tt := range keys {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("content of " + tt.key)
			if err := b.PutObject(tt.key, bytes.NewReader(body)); err != nil {
				t.Fatalf("PutObject(%q) error: %v", tt.key, err)
			}
			rc, err := b.GetObject(tt.key)
			if err != nil {
				t.Fatalf("GetObject(%q) error: %v", tt.key, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read GetObject(%q): %v", tt.key, err)
			}
			if !bytes.Equal(got, body) {
				t.Errorf("GetObject(%q) = %q, want %q", tt.key, got, body)
			}

			h, err := b.GetObjectDetailedMeta(tt.key)
			if err != nil {
				t.Fatalf("GetObjectDetailedMeta(%q) error: %v", tt.key, err)
			}
			sum := md5.Sum(body)
			wantHeaders := map[string]string{
				"Etag":                 `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`,
				"Content-Length":       strconv.Itoa(len(body)),
				"X-Oss-Hash-Crc64ecma": strconv.FormatUint(crc64.Checksum(body, crc64.MakeTable(crc64.ECMA)), 10),
				"X-Oss-Object-Type":    "Normal",
			}
			gotHeaders := map[string]string{}
			for k := range wantHeaders {
				gotHeaders[k] = h.Get(k)
			}
			if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
				t.Errorf("GetObjectDetailedMeta(%q) headers mismatch (-want +got):\n%s", tt.key, diff)
			}

			if ok, err := b.IsObjectExist(tt.key); err != nil || !ok {
				t.Errorf("IsObjectExist(%q) = %v, %v, want true, nil", tt.key, ok, err)
			}
			if err := b.DeleteObject(tt.key); err != nil {
				t.Fatalf("DeleteObject(%q) error: %v", tt.key, err)
			}
			if ok, err := b.IsObjectExist(tt.key); err != nil || ok {
				t.Errorf("IsObjectExist(%q) after delete = %v, %v, want false, nil", tt.key, ok, err)
			}
			if err := b.DeleteObject(tt.key); err != nil {
				t.Errorf("DeleteObject(%q) of a missing key error: %v, want nil (204)", tt.key, err)
			}
		})
	}
}

func TestPutOverwriteAndForbid(t *testing.T) {
	t.Parallel()
	emu, b := defaultBucket(t)
	if err := b.PutObject("k.json", strings.NewReader("one")); err != nil {
		t.Fatalf("PutObject first error: %v", err)
	}
	if err := b.PutObject("k.json", strings.NewReader("two")); err != nil {
		t.Fatalf("PutObject overwrite error: %v", err)
	}
	err := b.PutObject("k.json", strings.NewReader("three"), oss.ForbidOverWrite(true))
	serviceError(t, "PutObject(ForbidOverWrite) on an existing key", err, http.StatusConflict, "FileAlreadyExists")
	if err := b.PutObject("new.json", strings.NewReader("four"), oss.ForbidOverWrite(true)); err != nil {
		t.Errorf("PutObject(ForbidOverWrite) on a new key error: %v", err)
	}
	want := map[string][]byte{"k.json": []byte("two"), "new.json": []byte("four")}
	if diff := cmp.Diff(want, emu.Objects(bucketName)); diff != "" {
		t.Errorf("Objects mismatch (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	emu, url := setup(t, ossemu.Options{
		Keys: map[string]string{
			ossemu.AccessKeyID: ossemu.AccessKeySecret,
			"STS.tempkey":      "temp-secret",
		},
	})
	emu.SetObject(bucketName, "exists.txt", []byte("x"))
	good := bucket(t, url, ossemu.AccessKeyID, ossemu.AccessKeySecret, bucketName)
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"wrong secret", func() error {
			_, err := bucket(t, url, ossemu.AccessKeyID, "wrong", bucketName).GetObject("exists.txt")
			return err
		}, 403, "SignatureDoesNotMatch"},
		{"wrong secret on put", func() error {
			return bucket(t, url, ossemu.AccessKeyID, "wrong", bucketName).PutObject("x", strings.NewReader("x"))
		}, 403, "SignatureDoesNotMatch"},
		{"unknown key id", func() error {
			_, err := bucket(t, url, "LTAInobody", "s", bucketName).GetObject("exists.txt")
			return err
		}, 403, "InvalidAccessKeyId"},
		{"STS token with wrong secret", func() error {
			_, err := bucket(t, url, "STS.tempkey", "nope", bucketName, oss.SecurityToken("tok")).GetObject("exists.txt")
			return err
		}, 403, "SignatureDoesNotMatch"},
		{"missing bucket", func() error {
			_, err := bucket(t, url, ossemu.AccessKeyID, ossemu.AccessKeySecret, "no-such-bucket").GetObject("exists.txt")
			return err
		}, 404, "NoSuchBucket"},
		{"missing bucket on list", func() error {
			_, err := bucket(t, url, ossemu.AccessKeyID, ossemu.AccessKeySecret, "no-such-bucket").ListObjectsV2()
			return err
		}, 404, "NoSuchBucket"},
		{"missing key", func() error {
			_, err := good.GetObject("missing.txt")
			return err
		}, 404, "NoSuchKey"},
		{"missing key on HEAD (code from x-oss-err)", func() error {
			_, err := good.GetObjectDetailedMeta("missing.txt")
			return err
		}, 404, "NoSuchKey"},
		{"max-keys over 1000", func() error {
			_, err := good.ListObjectsV2(oss.MaxKeys(1001))
			return err
		}, 400, "InvalidArgument"},
		{"bad continuation token", func() error {
			_, err := good.ListObjectsV2(oss.ContinuationToken("!!!"))
			return err
		}, 400, "InvalidArgument"},
		{"wrong Content-MD5", func() error {
			return good.PutObject("x.txt", strings.NewReader("x"), oss.ContentMD5("1B2M2Y8AsgTpgAmY7PhCfg=="))
		}, 400, "InvalidDigest"},
		{"key starting with a slash", func() error {
			return good.PutObject("/abs.txt", strings.NewReader("x"))
		}, 400, "InvalidObjectName"},
		{"unsupported sub-resource", func() error {
			_, err := good.GetObjectACL("exists.txt")
			return err
		}, 501, "NotImplemented"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serviceError(t, tt.name, tt.call(), tt.status, tt.code)
		})
	}
	if diff := cmp.Diff([]string{"exists.txt"}, emu.Keys(bucketName)); diff != "" {
		t.Errorf("Keys after failed calls mismatch (-want +got):\n%s", diff)
	}
}

func TestSecurityToken(t *testing.T) {
	t.Parallel()
	emu, url := setup(t, ossemu.Options{Keys: map[string]string{"STS.tempkey": "temp-secret"}})
	b := bucket(t, url, "STS.tempkey", "temp-secret", bucketName, oss.SecurityToken("CAIS-token"))
	if err := b.PutObject("sts.txt", strings.NewReader("ok")); err != nil {
		t.Fatalf("PutObject with STS token error: %v", err)
	}
	if diff := cmp.Diff([]string{"sts.txt"}, emu.Keys(bucketName)); diff != "" {
		t.Errorf("Keys mismatch (-want +got):\n%s", diff)
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	later := func() time.Time { return time.Now().Add(time.Hour) }
	_, url := setup(t, ossemu.Options{Now: later})
	b := bucket(t, url, ossemu.AccessKeyID, ossemu.AccessKeySecret, bucketName)
	_, err := b.GetObject("any.txt")
	serviceError(t, "GetObject with a skewed clock", err, 403, "RequestTimeTooSkewed")
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	emu, b := defaultBucket(t)
	emu.FailNext(2, http.StatusServiceUnavailable, "ServiceUnavailable")
	for i := range 2 {
		err := b.PutObject("k", strings.NewReader("v"))
		serviceError(t, fmt.Sprintf("PutObject #%d", i+1), err, 503, "ServiceUnavailable")
	}
	if err := b.PutObject("k", strings.NewReader("v")); err != nil {
		t.Errorf("PutObject after the faults error: %v", err)
	}
}

func TestListObjectsV2(t *testing.T) {
	t.Parallel()
	emu, b := defaultBucket(t)
	keys := []string{
		"a.txt",
		"dir/one.txt",
		"dir/sub/deep.txt",
		"dir/two words.txt",
		"dir/x+y.txt",
		"dir/中文.txt",
		"other/1",
		"other/2",
		"z.txt",
	}
	for _, k := range keys {
		emu.SetObject(bucketName, k, []byte(k))
	}
	tests := []struct {
		name     string
		opts     []oss.Option
		pageSize int
		wantKeys []string
		wantCPs  []string
	}{
		{"everything", nil, 0, keys, nil},
		{"prefix", []oss.Option{oss.Prefix("dir/")}, 0, keys[1:6], nil},
		{"prefix with delimiter", []oss.Option{oss.Prefix("dir/"), oss.Delimiter("/")}, 0,
			[]string{"dir/one.txt", "dir/two words.txt", "dir/x+y.txt", "dir/中文.txt"}, []string{"dir/sub/"}},
		{"delimiter at the root", []oss.Option{oss.Delimiter("/")}, 0,
			[]string{"a.txt", "z.txt"}, []string{"dir/", "other/"}},
		{"start-after", []oss.Option{oss.StartAfter("dir/two words.txt")}, 0, keys[4:], nil},
		{"pages of 2", nil, 2, keys, nil},
		{"pages of 1 with delimiter", []oss.Option{oss.Delimiter("/")}, 1,
			[]string{"a.txt", "z.txt"}, []string{"dir/", "other/"}},
		{"pages of 2 with prefix", []oss.Option{oss.Prefix("dir/")}, 2, keys[1:6], nil},
		{"prefix matches nothing", []oss.Option{oss.Prefix("nope/")}, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotKeys, gotCPs []string
			token := ""
			for page := 0; ; page++ {
				if page > len(keys) {
					t.Fatalf("ListObjectsV2 did not finish after %d pages", page)
				}
				opts := append([]oss.Option{}, tt.opts...)
				if tt.pageSize > 0 {
					opts = append(opts, oss.MaxKeys(tt.pageSize))
				}
				if token != "" {
					opts = append(opts, oss.ContinuationToken(token))
				}
				res, err := b.ListObjectsV2(opts...)
				if err != nil {
					t.Fatalf("ListObjectsV2 page %d error: %v", page, err)
				}
				if tt.pageSize > 0 && len(res.Objects)+len(res.CommonPrefixes) > tt.pageSize {
					t.Errorf("page %d has %d items, want at most %d", page, len(res.Objects)+len(res.CommonPrefixes), tt.pageSize)
				}
				for _, o := range res.Objects {
					gotKeys = append(gotKeys, o.Key)
					if o.Size != int64(len(o.Key)) || o.LastModified.IsZero() || o.ETag == "" {
						t.Errorf("object %q: Size %d, LastModified %v, ETag %q; want size %d and both set", o.Key, o.Size, o.LastModified, o.ETag, len(o.Key))
					}
				}
				gotCPs = append(gotCPs, res.CommonPrefixes...)
				if !res.IsTruncated {
					break
				}
				token = res.NextContinuationToken
			}
			if diff := cmp.Diff(tt.wantKeys, gotKeys); diff != "" {
				t.Errorf("keys mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCPs, gotCPs); diff != "" {
				t.Errorf("common prefixes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListEncodesNames(t *testing.T) {
	t.Parallel()
	emu, b := defaultBucket(t)
	emu.SetObject(bucketName, "a+b c/中.txt", nil)
	res, err := b.ListObjectsV2(oss.Prefix("a+b c/"), oss.StartAfter("a+b c/"), oss.Delimiter("/"))
	if err != nil {
		t.Fatalf("ListObjectsV2 error: %v", err)
	}
	got := []string{res.Prefix, res.StartAfter, res.Delimiter, res.Objects[0].Key}
	want := []string{"a+b c/", "a+b c/", "/", "a+b c/中.txt"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded Prefix, StartAfter, Delimiter, Key mismatch (-want +got):\n%s", diff)
	}
}

func TestAnonymousRequest(t *testing.T) {
	t.Parallel()
	_, url := setup(t, ossemu.Options{})
	resp, err := http.Get(url + "/" + bucketName + "/a.txt")
	if err != nil {
		t.Fatalf("GET error: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Code, Message, RequestId, HostId string
	}
	if err := xml.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode error XML: %v", err)
	}
	if resp.StatusCode != 403 || body.Code != "AccessDenied" {
		t.Errorf("anonymous GET = %d %q, want 403 AccessDenied", resp.StatusCode, body.Code)
	}
	if id := resp.Header.Get("X-Oss-Request-Id"); id == "" || id != body.RequestId {
		t.Errorf("X-Oss-Request-Id = %q, body RequestId = %q, want equal and set", id, body.RequestId)
	}
	if body.Message == "" || body.HostId == "" {
		t.Errorf("error XML Message = %q, HostId = %q, want both set", body.Message, body.HostId)
	}
}

func TestSignatureErrorNamesStringToSign(t *testing.T) {
	t.Parallel()
	_, url := setup(t, ossemu.Options{})
	b := bucket(t, url, ossemu.AccessKeyID, "wrong", bucketName)
	_, err := b.ListObjectsV2(oss.ContinuationToken("dG9r"), oss.Prefix("p/"))
	var se oss.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("ListObjectsV2 error = %v, want oss.ServiceError", err)
	}
	var body struct{ StringToSign string }
	if err := xml.Unmarshal([]byte(se.RawMessage), &body); err != nil {
		t.Fatalf("decode error XML: %v", err)
	}
	// The continuation token is a signed sub-resource; prefix is not.
	want := "\n/" + bucketName + "/?continuation-token=dG9r"
	if !strings.HasPrefix(body.StringToSign, "GET\n\n\n") || !strings.HasSuffix(body.StringToSign, want) {
		t.Errorf("StringToSign = %q, want \"GET\\n\\n\\n<date>%s\"", body.StringToSign, want)
	}
	if strings.Contains(se.RawMessage, ossemu.AccessKeySecret) {
		t.Errorf("error body contains the secret: %s", se.RawMessage)
	}
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	emu, b := defaultBucket(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d/%03d", w, i)
				if err := b.PutObject(key, strings.NewReader(key), oss.ForbidOverWrite(true)); err != nil {
					errs <- fmt.Errorf("PutObject(%q): %w", key, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(emu.Keys(bucketName)); got != writers*each {
		t.Errorf("len(Keys) = %d, want %d", got, writers*each)
	}
}

func TestContentMD5Accepted(t *testing.T) {
	t.Parallel()
	_, b := defaultBucket(t)
	sum := md5.Sum([]byte("body"))
	if err := b.PutObject("m.txt", strings.NewReader("body"), oss.ContentMD5(base64.StdEncoding.EncodeToString(sum[:]))); err != nil {
		t.Errorf("PutObject with a correct Content-MD5 error: %v", err)
	}
}
