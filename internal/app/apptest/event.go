package apptest

import (
	"encoding/json"
	"fmt"
	"time"
)

// OSSEvent returns a Function Compute OSS trigger payload, {"events":[…]},
// with one ObjectCreated:PutObject record per key of bucket, shaped like
// events/oss-put-object.json. requestID is the records'
// responseElements.requestId; the same arguments give the same bytes, as a
// redelivery does.
func OSSEvent(bucket, requestID string, keys ...string) []byte {
	type object struct {
		Key  string `json:"key"`
		ETag string `json:"eTag"`
		Size int    `json:"size"`
	}
	type record struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
		EventTime   string `json:"eventTime"`
		Version     string `json:"eventVersion"`
		OSS         struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object object `json:"object"`
		} `json:"oss"`
		Region           string            `json:"region"`
		ResponseElements map[string]string `json:"responseElements"`
	}
	at := time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
	recs := make([]record, len(keys))
	for i, k := range keys {
		r := &recs[i]
		r.EventName, r.EventSource, r.Version, r.Region = "ObjectCreated:PutObject", "acs:oss", "1.0", "cn-hangzhou"
		r.EventTime = at.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		r.OSS.Bucket.Name = bucket
		r.OSS.Object = object{Key: k, ETag: fmt.Sprintf("%032X", i+1), Size: 1024 + i}
		r.ResponseElements = map[string]string{"requestId": requestID}
	}
	b, _ := json.Marshal(map[string]any{"events": recs}) // strings and ints: cannot fail
	return b
}
