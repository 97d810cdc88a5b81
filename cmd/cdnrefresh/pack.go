package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/deploy"
)

// runPackage writes one function's zip (make package): each NAME=FILE
// argument becomes the entry NAME with FILE's content; bootstrap is
// executable. The same inputs give the same bytes.
func runPackage(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("package", stderr)
	out := fs.String("o", "", "the zip to write, e.g. dist/fc/oss-refresh.zip")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *out == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: cdnrefresh package -o OUT.zip NAME=FILE...")
		return errUsage
	}
	var files []deploy.File
	for _, a := range fs.Args() {
		name, src, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintf(stderr, "package: %q is not NAME=FILE\n", a)
			return errUsage
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		files = append(files, deploy.File{Name: name, Data: data, Exec: name == "bootstrap"})
	}
	var buf bytes.Buffer
	if err := deploy.WriteZip(&buf, files); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-28s %7.1f MiB  (%d files)\n", *out, float64(buf.Len())/(1<<20), len(files))
	return nil
}
