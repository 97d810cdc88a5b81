package main
import (
 _ "github.com/aliyun/alibaba-cloud-sdk-go/services/cdn"
 _ "github.com/aliyun/alibaba-cloud-sdk-go/services/dcdn"
 _ "github.com/aliyun/aliyun-oss-go-sdk/oss"
 _ "github.com/aws/aws-lambda-go/lambda"
 _ "golang.org/x/time/rate"
 _ "github.com/redis/go-redis/v9"
 _ "gopkg.in/yaml.v3"
 _ "github.com/google/go-cmp/cmp"
 _ "github.com/schollz/progressbar/v3"
)
func main(){}
