package oss

import (
	"encoding/base64"
	"encoding/xml"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// listResult is the ListObjectsV2 reply, elements in OSS's order.
type listResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	Contents              []listContent  `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listContent struct {
	Key          string     `xml:"Key"`
	LastModified string     `xml:"LastModified"`
	ETag         string     `xml:"ETag"`
	Type         string     `xml:"Type"`
	Size         int        `xml:"Size"`
	StorageClass string     `xml:"StorageClass"`
	Owner        *listOwner `xml:"Owner,omitempty"`
}

type listOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// listItem is one entry of a listing: an object, or a common prefix that
// stands for every key beneath it.
type listItem struct {
	key    string
	obj    *object
	prefix bool
}

// listObjectsV2 answers GET /bucket/?list-type=2 with prefix, delimiter,
// start-after, continuation-token, max-keys, encoding-type and fetch-owner.
func (s *Server) listObjectsV2(w http.ResponseWriter, q url.Values, bucket string) *apiError {
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := defaultListKeys
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListKeys {
			return errorf(http.StatusBadRequest, "InvalidArgument", "Argument max-keys must be an integer between 1 and %d.", maxListKeys).
				with("ArgumentName", "max-keys").with("ArgumentValue", v)
		}
		maxKeys = n
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "The encoding-type parameter must be url.").
			with("ArgumentName", "encoding-type").with("ArgumentValue", enc)
	}
	// Keys must sort after marker; a token wins over start-after.
	marker := q.Get("start-after")
	token := q.Get("continuation-token")
	if q.Has("continuation-token") {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) == 0 {
			return errorf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect.").
				with("ArgumentName", "continuation-token").with("ArgumentValue", token)
		}
		marker = string(raw)
	}

	s.mu.Lock()
	objects := maps.Clone(s.buckets[bucket])
	s.mu.Unlock()

	// Every item after marker, with the keys under a delimiter rolled up
	// into one common prefix, in key order; then cut one page.
	var items []listItem
	for _, k := range slices.Sorted(maps.Keys(objects)) {
		if k <= marker || !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if n := len(items); n > 0 && items[n-1].prefix && items[n-1].key == cp {
					continue
				}
				items = append(items, listItem{key: cp, prefix: true})
				continue
			}
		}
		items = append(items, listItem{key: k, obj: objects[k]})
	}

	res := listResult{
		Name:              bucket,
		Prefix:            encode(enc, prefix),
		StartAfter:        encode(enc, q.Get("start-after")),
		ContinuationToken: token,
		MaxKeys:           maxKeys,
		Delimiter:         encode(enc, delim),
		EncodingType:      enc,
	}
	if len(items) > maxKeys {
		items = items[:maxKeys]
		res.IsTruncated = true
		last := items[maxKeys-1]
		next := last.key
		if last.prefix {
			// Skip every key under the prefix: no valid UTF-8 key
			// continues it with the byte 0xFF.
			next += "\xff"
		}
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	res.KeyCount = len(items)
	fetchOwner := q.Get("fetch-owner") == "true"
	for _, it := range items {
		if it.prefix {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: encode(enc, it.key)})
			continue
		}
		c := listContent{
			Key:          encode(enc, it.key),
			LastModified: it.obj.modified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag:         it.obj.etag,
			Type:         "Normal",
			Size:         len(it.obj.data),
			StorageClass: "Standard",
		}
		if fetchOwner {
			c.Owner = &listOwner{ID: ownerID, DisplayName: ownerID}
		}
		res.Contents = append(res.Contents, c)
	}

	body, err := xml.MarshalIndent(res, "", "  ")
	if err != nil {
		return errorf(http.StatusInternalServerError, "InternalError", "The emulator could not encode the listing: %v.", err)
	}
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the client went away; nothing to report to
	return nil
}

// encode applies encoding-type=url to a name in a listing: the SDK decodes
// each with url.QueryUnescape, so a literal '+' must travel as %2B.
func encode(enc, s string) string {
	if enc == "url" {
		return url.QueryEscape(s)
	}
	return s
}
