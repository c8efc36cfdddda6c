// Package tap writes TAP version 13, with the calls runtime-tools' validation
// programs make (they import it as github.com/mndrix/tap-go, which Debian does
// not package). runr's own code: spec-tests/runtime-tools.sh puts it at that
// import path in the GOPATH it builds the suite in.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// counter is shared by a T and the T that Todo returns, so both number the
// same sequence of test points.
type counter struct {
	n int
}

// T writes one TAP stream.
type T struct {
	w      io.Writer
	count  *counter
	todo   bool
	Writer io.Writer
}

// New starts a stream on standard output.
func New() *T {
	return &T{w: os.Stdout, count: &counter{}, Writer: os.Stdout}
}

// Header writes the version line and, when the number of tests is known,
// the plan.
func (t *T) Header(tests int) {
	fmt.Fprintln(t.w, "TAP version 13")
	if tests > 0 {
		fmt.Fprintf(t.w, "1..%d\n", tests)
	}
}

// Ok writes one test point.
func (t *T) Ok(test bool, description string) {
	t.count.n++
	status := "ok"
	if !test {
		status = "not ok"
	}
	line := fmt.Sprintf("%s %d - %s", status, t.count.n, oneLine(description))
	if t.todo {
		line += " # TODO"
	}
	fmt.Fprintln(t.w, line)
}

// Pass writes a passing test point.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail writes a failing test point.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Todo returns a T whose test points are marked TODO: their failures are
// known and do not count.
func (t *T) Todo() *T {
	c := *t
	c.todo = true
	return &c
}

// Skip writes count skipped test points.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.count.n++
		fmt.Fprintf(t.w, "ok %d # SKIP %s\n", t.count.n, oneLine(description))
	}
}

// Count is the number of test points written so far.
func (t *T) Count() int { return t.count.n }

// AutoPlan writes the plan from the number of test points written.
func (t *T) AutoPlan() {
	fmt.Fprintf(t.w, "1..%d\n", t.count.n)
}

// Diagnostic writes a comment, one "# " line per line of message.
func (t *T) Diagnostic(message string) {
	for _, l := range strings.Split(strings.TrimRight(message, "\n"), "\n") {
		fmt.Fprintln(t.w, "# "+l)
	}
}

// Diagnosticf is Diagnostic with a format.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML writes a YAML block for the last test point. JSON is YAML, so the
// block is the value as indented JSON.
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(t.w, "  ---\n  %s\n  ...\n", b)
	return nil
}

// A description is one line: a newline would end the test point early.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}
