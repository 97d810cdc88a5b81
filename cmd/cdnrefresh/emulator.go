package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/emulator/cdn"
	"github.com/cdnrefresh/cdnrefresh/internal/emulator/oss"
	"golang.org/x/sync/errgroup"
)

func runEmulator(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("emulator", stderr)
	addr := fs.String("addr", "127.0.0.1:8765", "`ADDRESS` of the CDN and DCDN API emulator")
	ossAddr := fs.String("oss-addr", "127.0.0.1:8766", "`ADDRESS` of the OSS emulator; empty: none")
	buckets := fs.String("buckets", "my-site", "comma-separated OSS `BUCKETS` to create")
	urlQuota := fs.Int("url-quota", 0, "daily URL refresh quota (0: the default 10,000)")
	preloadQuota := fs.Int("preload-quota", 0, "daily prefetch quota (0: the default 1,000)")
	if err := parse(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen for the CDN emulator: %w", err)
	}
	c := cdn.New(cdn.Options{URLQuota: *urlQuota, PreloadQuota: *preloadQuota})
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  CDN/DCDN API: CDNREFRESH_CDN_ENDPOINT=http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "  credentials:  ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n", cdn.AccessKeyID, cdn.AccessKeySecret)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.Serve(ctx, ln) })
	if *ossAddr != "" {
		oln, err := net.Listen("tcp", *ossAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for the OSS emulator: %w", err)
		}
		// One key pair signs for both services, as one RAM user would.
		o := oss.New(oss.Options{Keys: map[string]string{cdn.AccessKeyID: cdn.AccessKeySecret}, Buckets: strings.Split(*buckets, ",")})
		fmt.Fprintf(stdout, "listening on http://%s\n", oln.Addr())
		fmt.Fprintf(stdout, "  OSS:          CDNREFRESH_OSS_ENDPOINT=http://%s (buckets: %s; same credentials)\n", oln.Addr(), *buckets)
		g.Go(func() error { return o.Serve(ctx, oln) })
	}
	return g.Wait()
}
