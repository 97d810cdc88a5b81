package spill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/cdnrefresh/cdnrefresh/internal/refresh"
)

// DefaultPrefix is the key prefix for spill objects when the configuration
// names none. Keep it outside every OSS trigger's prefix filter.
const DefaultPrefix = ".cdnrefresh/spill/"

// ossObjects is the backend under a key prefix in an OSS bucket. New
// objects are put with x-oss-forbid-overwrite so that no writer ever
// replaces another's.
type ossObjects struct {
	endpoint string
	name     string // bucket name
	prefix   string
	bucket   *oss.Bucket // the client for static credentials, if any

	// A call whose context carries credentials (FC's per-invocation STS
	// token) signs with them, through a client kept per credentials.
	mu      sync.Mutex
	clients map[refresh.Credentials]*oss.Bucket
}

// NewOSS returns a store under prefix in bucket at endpoint, one object per
// Spill call. Each call signs with the credentials its context carries
// (refresh.WithCredentials: on FC, the function role's current STS token),
// else with static, which may be empty when every call carries some. The
// prefix is read as a directory: a missing trailing '/' is added and
// leading ones are dropped. An empty prefix puts spill objects at the root
// of the bucket; prefer DefaultPrefix or another prefix of their own.
func NewOSS(endpoint, bucket, prefix string, static refresh.Credentials) (*Store, error) {
	if endpoint == "" {
		return nil, errors.New("spill: OSS endpoint is empty")
	}
	o := &ossObjects{name: bucket, prefix: cleanPrefix(prefix), endpoint: endpoint}
	if !static.Empty() {
		b, err := OSSBucket(endpoint, bucket, static)
		if err != nil {
			return nil, err
		}
		o.bucket = b
	}
	return newStore(o), nil
}

// maxClients bounds the per-credentials clients kept: STS tokens rotate, so
// old ones are dropped.
const maxClients = 4

// client returns the bucket client for ctx's credentials.
func (o *ossObjects) client(ctx context.Context) (*oss.Bucket, error) {
	creds, ok := refresh.CredentialsFrom(ctx)
	if !ok {
		if o.bucket == nil {
			return nil, errors.New("spill: no credentials for OSS: the invocation carries none and ALIBABA_CLOUD_ACCESS_KEY_ID is unset")
		}
		return o.bucket, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.clients[creds]; ok {
		return b, nil
	}
	b, err := OSSBucket(o.endpoint, o.name, creds)
	if err != nil {
		return nil, err
	}
	if len(o.clients) >= maxClients {
		clear(o.clients)
	}
	if o.clients == nil {
		o.clients = make(map[refresh.Credentials]*oss.Bucket)
	}
	o.clients[creds] = b
	return b, nil
}

// OSSBucket returns an OSS client for bucket at endpoint, e.g.
// "https://oss-cn-hangzhou-internal.aliyuncs.com" in production or the
// emulator's "http://127.0.0.1:PORT" (CDNREFRESH_OSS_ENDPOINT). An STS
// token in creds is sent with every request.
func OSSBucket(endpoint, bucket string, creds refresh.Credentials) (*oss.Bucket, error) {
	if endpoint == "" {
		return nil, errors.New("spill: OSS endpoint is empty")
	}
	if creds.Empty() {
		return nil, errors.New("spill: no credentials for OSS")
	}
	opts := []oss.ClientOption{oss.Timeout(10, 30)} // connect, read/write seconds
	if creds.SecurityToken != "" {
		opts = append(opts, oss.SecurityToken(creds.SecurityToken))
	}
	if u, err := url.Parse(endpoint); err == nil && u.Hostname() == "localhost" {
		opts = append(opts, oss.ForcePathStyle(true)) // IP hosts get path style anyway
	}
	c, err := oss.New(endpoint, creds.AccessKeyID, creds.AccessKeySecret, opts...)
	if err != nil {
		return nil, fmt.Errorf("spill: OSS client for %s: %w", endpoint, err)
	}
	b, err := c.Bucket(bucket)
	if err != nil {
		return nil, fmt.Errorf("spill: OSS bucket %q: %w", bucket, err)
	}
	return b, nil
}

// IsSpillKey reports whether an object change in bucket at key is a spill
// object of a store in spillBucket under prefix, and so must not trigger a
// refresh (spill objects in a watched bucket would otherwise re-trigger the
// function). With a prefix, every key beneath it is the store's; with an
// empty prefix, only keys shaped like spill object names are.
//
// This is the guard in code. The deployment should also keep spill objects
// away from the trigger: OSS trigger filters match a literal key prefix and
// suffix only, so put the spill prefix outside the trigger's prefix (e.g.
// trigger on "static/", spill under DefaultPrefix); a trigger on the whole
// bucket still invokes the function for spill objects, and this guard makes
// those invocations do nothing.
func IsSpillKey(bucket, key, spillBucket, prefix string) bool {
	if bucket != spillBucket {
		return false
	}
	prefix = cleanPrefix(prefix)
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return false
	}
	return prefix != "" || isObjectName(rest)
}

// ReasonOwnSpill is why Guard ignores a change to a spill object.
const ReasonOwnSpill = "cdnrefresh's own spill object"

// Guard wraps m so that changes to the spill objects of a store in bucket
// under prefix (IsSpillKey) are ignored with ReasonOwnSpill instead of
// mapped. Changes given as URLs (webhook, CLI) pass untouched.
func Guard(m refresh.Mapper, bucket, prefix string) refresh.Mapper {
	return guard{m, bucket, prefix}
}

type guard struct {
	refresh.Mapper
	bucket, prefix string
}

func (g guard) Map(c refresh.Change) ([]refresh.Job, []refresh.Outcome, string) {
	if c.URL == "" && IsSpillKey(c.Bucket, c.Key, g.bucket, g.prefix) {
		return nil, nil, ReasonOwnSpill
	}
	return g.Mapper.Map(c)
}

func cleanPrefix(p string) string {
	p = strings.TrimLeft(p, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func (o *ossObjects) put(ctx context.Context, name string, data []byte) error {
	b, err := o.client(ctx)
	if err != nil {
		return err
	}
	return b.PutObject(o.prefix+name, bytes.NewReader(data), oss.ContentType("text/plain"), oss.WithContext(ctx))
}

func (o *ossObjects) sub(dir string) (backend, error) {
	return &ossObjects{endpoint: o.endpoint, name: o.name, prefix: o.prefix + dir + "/", bucket: o.bucket}, nil
}

func (o *ossObjects) where(name string) string {
	return "oss://" + o.name + "/" + o.prefix + name
}

// listPage is the most keys ListObjectsV2 returns at once.
const listPage = 1000

func (o *ossObjects) list(ctx context.Context) ([]string, error) {
	b, err := o.client(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	token := ""
	for {
		opts := []oss.Option{oss.Prefix(o.prefix), oss.Delimiter("/"), oss.MaxKeys(listPage), oss.WithContext(ctx)}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(opts...)
		if err != nil {
			return nil, fmt.Errorf("list oss://%s/%s: %w", o.name, o.prefix, err)
		}
		for _, obj := range res.Objects {
			if name := strings.TrimPrefix(obj.Key, o.prefix); isObjectName(name) {
				names = append(names, name)
			}
		}
		if !res.IsTruncated {
			return names, nil // OSS lists in key order
		}
		if res.NextContinuationToken == "" || res.NextContinuationToken == token {
			return nil, fmt.Errorf("list oss://%s/%s: truncated listing without a new continuation token", o.name, o.prefix)
		}
		token = res.NextContinuationToken
	}
}

func (o *ossObjects) read(ctx context.Context, name string) ([]byte, error) {
	b, err := o.client(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := b.GetObject(o.prefix+name, oss.WithContext(ctx))
	if isCode(err, "NoSuchKey") {
		return nil, fmt.Errorf("%w: %w", errNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (o *ossObjects) create(ctx context.Context, name string, data []byte) error {
	b, err := o.client(ctx)
	if err != nil {
		return err
	}
	err = b.PutObject(o.prefix+name, bytes.NewReader(data),
		oss.ForbidOverWrite(true), oss.ContentType("application/json"), oss.WithContext(ctx))
	if isCode(err, "FileAlreadyExists") {
		return fmt.Errorf("%w: %w", errExists, err)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", o.where(name), err)
	}
	return nil
}

func (o *ossObjects) remove(ctx context.Context, name string) error {
	b, err := o.client(ctx)
	if err != nil {
		return err
	}
	if err := b.DeleteObject(o.prefix+name, oss.WithContext(ctx)); err != nil {
		return fmt.Errorf("delete: %w", err) // a missing object answers 204: no error
	}
	return nil
}

// isCode reports whether err is an OSS service error with error code code.
func isCode(err error, code string) bool {
	var se oss.ServiceError
	return errors.As(err, &se) && se.Code == code
}
