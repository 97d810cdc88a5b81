package main

import (
	"context"
	"errors"
	"io"
)

func runReport(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
	return errors.New("not wired yet")
}
