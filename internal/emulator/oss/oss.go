// Package oss is a local emulator of the Alibaba Cloud OSS REST API, faithful
// enough that the real aliyun-oss-go-sdk is its client in tests, in the demo
// and in benchmarks.
//
// It serves the object calls cdnrefresh makes — PutObject, GetObject,
// HeadObject (plain and ?objectMeta), DeleteObject and ListObjectsV2 — on
// path-style URLs (/bucket/key; the SDK uses path style for an IP endpoint,
// and for a host name with oss.ForcePathStyle(true)). Every request must carry
// a valid signature version 1 (Authorization: OSS id:signature); errors come
// back as OSS does: the documented status, an XML <Error> body (or, for HEAD,
// an empty body and the base64 XML in x-oss-err) and an X-Oss-Request-Id
// header. PutObject honours x-oss-forbid-overwrite (409 FileAlreadyExists)
// and Content-MD5, and answers the x-oss-hash-crc64ecma the SDK checks.
// Range and conditional headers are ignored (the whole object is sent);
// other sub-resources and bucket operations answer 501 NotImplemented.
//
// Everything is in memory and goroutine-safe. Test hooks: Keys, Objects,
// SetObject, CreateBucket and FailNext (fault injection).
//
// API reference: https://www.alibabacloud.com/help/en/oss/developer-reference/list-of-operations-by-function
package oss

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io"
	"maps"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The emulator's default credentials. They are not secret: they open only the
// local emulator.
const (
	AccessKeyID     = "LTAIemulatorOSS01"
	AccessKeySecret = "emulator-oss-secret-not-real"
)

// Documented OSS limits the emulator enforces.
// https://www.alibabacloud.com/help/en/oss/user-guide/limits
const (
	maxKeyBytes     = 1023               // object key length in bytes
	maxListKeys     = 1000               // max-keys upper bound
	defaultListKeys = 100                // max-keys when absent
	maxClockSkew    = 15 * time.Minute   // Date header vs server time
	maxObjectSize   = 64 << 20           // emulator cap (OSS allows 5 GiB per PutObject)
	ownerID         = "1234567890123456" // owner reported by fetch-owner=true
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Keys maps access key IDs to secrets. Empty means one key,
	// AccessKeyID with AccessKeySecret.
	Keys map[string]string
	// Buckets are created at start. A request naming any other bucket is
	// answered 404 NoSuchBucket.
	Buckets []string
	// Now is the server clock (Last-Modified, the Date skew check). Nil
	// means time.Now.
	Now func() time.Time
}

// Server is the emulator, an http.Handler. Create it with New.
type Server struct {
	keys map[string]string
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]map[string]*object
	faults  []fault
}

type object struct {
	data        []byte
	etag        string // quoted upper-case MD5 hex, as OSS answers
	crc         uint64
	contentType string
	modified    time.Time
	meta        http.Header // x-oss-meta-* as sent
}

type fault struct {
	status int
	code   string
}

// New returns an emulator holding opts.Buckets, all empty.
func New(opts Options) *Server {
	s := &Server{
		keys:    maps.Clone(opts.Keys),
		now:     opts.Now,
		buckets: make(map[string]map[string]*object),
	}
	if len(s.keys) == 0 {
		s.keys = map[string]string{AccessKeyID: AccessKeySecret}
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, b := range opts.Buckets {
		s.CreateBucket(b)
	}
	return s
}

// CreateBucket adds an empty bucket; an existing bucket is left as it is.
func (s *Server) CreateBucket(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		s.buckets[name] = make(map[string]*object)
	}
}

// Keys returns the keys of the objects in bucket, sorted.
func (s *Server) Keys(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.buckets[bucket]))
}

// Objects returns a copy of the objects in bucket, by key.
func (s *Server) Objects(bucket string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.buckets[bucket]))
	for k, o := range s.buckets[bucket] {
		out[k] = bytes.Clone(o.data)
	}
	return out
}

// SetObject stores data under key in bucket, creating the bucket if needed,
// as if it had been uploaded.
func (s *Server) SetObject(bucket, key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[bucket] == nil {
		s.buckets[bucket] = make(map[string]*object)
	}
	s.buckets[bucket][key] = newObject(bytes.Clone(data), "application/octet-stream", s.now(), nil)
}

// FailNext makes the next n authenticated requests fail with status and
// error code code instead of being carried out.
func (s *Server) FailNext(n int, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status, code})
	}
}

func newObject(data []byte, contentType string, now time.Time, meta http.Header) *object {
	sum := md5.Sum(data)
	return &object{
		data:        data,
		etag:        `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`,
		crc:         crc64.Checksum(data, crcTable),
		contentType: contentType,
		modified:    now.UTC().Truncate(time.Second),
		meta:        meta,
	}
}

// crcTable is the CRC-64/ECMA-182 table OSS uses for x-oss-hash-crc64ecma.
var crcTable = crc64.MakeTable(crc64.ECMA)

// apiError is one OSS error reply.
type apiError struct {
	status  int
	code    string
	message string
	extra   []xmlField // added after HostId (Key, BucketName, StringToSign…)
}

type xmlField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func (e *apiError) with(name, value string) *apiError {
	e.extra = append(e.extra, xmlField{XMLName: xml.Name{Local: name}, Value: value})
	return e
}

// Messages as OSS words them.
func noSuchBucket(b string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.").with("BucketName", b)
}

func noSuchKey(k string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.").with("Key", k)
}

func notImplemented(what string) *apiError {
	return errorf(http.StatusNotImplemented, "NotImplemented", "%s is not implemented by the emulator.", what)
}

// ServeHTTP answers one OSS REST request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("X-Oss-Request-Id", reqID)
	w.Header().Set("Server", "AliyunOSS")
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if err := s.serve(w, r); err != nil {
		writeError(w, r, reqID, err)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) *apiError {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket == "" {
		return notImplemented("a service-level request (ListBuckets)")
	}
	s.mu.Lock()
	_, ok := s.buckets[bucket]
	s.mu.Unlock()
	if !ok {
		return noSuchBucket(bucket)
	}
	if err := s.verify(r, bucket, key); err != nil {
		return err
	}
	if err := s.nextFault(); err != nil {
		return err
	}
	if key == "" {
		return s.serveBucket(w, r, bucket)
	}
	if err := checkKey(key); err != nil {
		return err
	}
	q := r.URL.Query()
	for name := range q {
		if signedSubresources[name] && name != "objectMeta" && !strings.HasPrefix(name, "response-") {
			return notImplemented("sub-resource ?" + name)
		}
	}
	switch r.Method {
	case http.MethodPut:
		return s.putObject(w, r, bucket, key)
	case http.MethodGet:
		return s.getObject(w, r, bucket, key, true)
	case http.MethodHead:
		return s.getObject(w, r, bucket, key, !q.Has("objectMeta"))
	case http.MethodDelete:
		return s.deleteObject(w, bucket, key)
	}
	return errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

func (s *Server) nextFault() *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return errorf(f.status, f.code, "Fault injected by the emulator.")
}

func (s *Server) serveBucket(w http.ResponseWriter, r *http.Request, bucket string) *apiError {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		return notImplemented(r.Method + " on a bucket")
	}
	for name := range q {
		if signedSubresources[name] && name != "continuation-token" {
			return notImplemented("bucket sub-resource ?" + name)
		}
	}
	if q.Get("list-type") != "2" {
		return notImplemented("ListObjects (version 1); use ListObjectsV2")
	}
	return s.listObjectsV2(w, q, bucket)
}

func checkKey(key string) *apiError {
	switch {
	case len(key) > maxKeyBytes:
		return errorf(http.StatusBadRequest, "KeyTooLong", "Your key is too long.").with("Key", key)
	case !utf8.ValidString(key), strings.HasPrefix(key, "/"), strings.HasPrefix(key, "\\"):
		return errorf(http.StatusBadRequest, "InvalidObjectName", "The specified object is not valid.").with("Key", key)
	}
	return nil
}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) *apiError {
	if r.Header.Get("X-Oss-Copy-Source") != "" {
		return notImplemented("CopyObject")
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxObjectSize+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "IncompleteBody", "The request body could not be read: %v.", err)
	}
	if len(data) > maxObjectSize {
		return errorf(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the emulator's maximum of %d bytes.", maxObjectSize)
	}
	if want := r.Header.Get("Content-Md5"); want != "" {
		sum := md5.Sum(data)
		if want != base64.StdEncoding.EncodeToString(sum[:]) {
			return errorf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid.")
		}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(key))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	meta := http.Header{}
	for name, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-oss-meta-") {
			meta[name] = slices.Clone(v)
		}
	}
	obj := newObject(data, ct, s.now(), meta)

	s.mu.Lock()
	objects := s.buckets[bucket]
	if _, exists := objects[key]; exists && strings.EqualFold(r.Header.Get("X-Oss-Forbid-Overwrite"), "true") {
		s.mu.Unlock()
		return errorf(http.StatusConflict, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.").with("Key", key)
	}
	objects[key] = obj
	s.mu.Unlock()

	sum := md5.Sum(data)
	h := w.Header()
	h.Set("ETag", obj.etag)
	h.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObject answers GetObject and HeadObject (full is true) or
// GetObjectMeta (HEAD ?objectMeta, full is false).
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, bucket, key string, full bool) *apiError {
	s.mu.Lock()
	obj := s.buckets[bucket][key]
	s.mu.Unlock()
	if obj == nil {
		return noSuchKey(key)
	}
	h := w.Header()
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.modified.Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(obj.data)))
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	if full {
		h.Set("Content-Type", obj.contentType)
		h.Set("Accept-Ranges", "bytes")
		h.Set("X-Oss-Object-Type", "Normal")
		h.Set("X-Oss-Storage-Class", "Standard")
		for name, v := range obj.meta {
			h[name] = slices.Clone(v)
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(obj.data) // the client went away; nothing to report to
	}
	return nil
}

func (s *Server) deleteObject(w http.ResponseWriter, bucket, key string) *apiError {
	s.mu.Lock()
	delete(s.buckets[bucket], key)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// errorBody is the XML OSS sends with an error status.
type errorBody struct {
	XMLName   xml.Name   `xml:"Error"`
	Code      string     `xml:"Code"`
	Message   string     `xml:"Message"`
	RequestID string     `xml:"RequestId"`
	HostID    string     `xml:"HostId"`
	Extra     []xmlField `xml:",any"`
}

func writeError(w http.ResponseWriter, r *http.Request, reqID string, e *apiError) {
	body, err := xml.MarshalIndent(errorBody{
		Code:      e.code,
		Message:   e.message,
		RequestID: reqID,
		HostID:    r.Host,
		Extra:     e.extra,
	}, "", "  ")
	if err != nil { // only strings: cannot happen
		body = nil
	}
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	if r.Method == http.MethodHead {
		// OSS answers HEAD errors with an empty body and the XML in x-oss-err.
		h.Set("X-Oss-Err", base64.StdEncoding.EncodeToString(body))
		h.Set("Content-Length", "0")
		w.WriteHeader(e.status)
		return
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body) // the client went away; nothing to report to
}

// newRequestID returns a request ID shaped like OSS's: 24 upper-case hex digits.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
