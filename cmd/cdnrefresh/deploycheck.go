package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cdnrefresh/cdnrefresh/internal/deploy"
)

// runDeployCheck checks s.yaml, template.yml, the ROS template and the
// config offline, prints what the deploys would create, and fails naming
// every gap.
func runDeployCheck(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("deploy-check", stderr)
	root := fs.String("root", ".", "the checkout holding s.yaml, template.yml and deploy/")
	cfg := fs.String("config", "", "the config the packages carry, relative to -root (default: config.yaml, else deploy/config.yaml)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfg == "" {
		*cfg = "deploy/config.yaml"
		if _, err := os.Stat(*root + "/config.yaml"); err == nil {
			*cfg = "config.yaml"
		}
	}
	res := deploy.Check(os.DirFS(*root), deploy.Options{Config: *cfg, Getenv: os.Getenv})
	fmt.Fprintf(stdout, "config: %s\n\nFunction Compute: s deploy would create\n", *cfg)
	printLines(stdout, res.FC)
	fmt.Fprintln(stdout, "\nAWS Lambda:")
	printLines(stdout, res.Lambda)
	fmt.Fprintln(stdout, "\nYou supply:")
	printLines(stdout, res.Needs)
	if len(res.Problems) > 0 {
		fmt.Fprintf(stdout, "\n%d problem(s):\n", len(res.Problems))
		printLines(stdout, res.Problems)
		return errors.New(strings.TrimSpace(fmt.Sprintf("%d problem(s) in the deployment descriptors", len(res.Problems))))
	}
	fmt.Fprintln(stdout, "\nno problems")
	return nil
}

func printLines(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}
