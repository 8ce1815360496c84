package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stromhq/strom/stream/cli"
)

func TestBenchRefusesBadCommandLines(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "name a suite"},
		{[]string{"nosuch"}, `no suite named "nosuch"`},
		{[]string{"micro", "--records", "0"}, "--records 0"},
		{[]string{"micro", "--repeat", "-1"}, "--repeat"},
		{[]string{"micro", "--wat"}, "-wat"},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		err := runBench(c.args, &o, &e)
		var ue cli.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error()+e.String(), c.want) {
			t.Errorf("bench %v: got %v (stderr %q), want a usage error naming %q", c.args, err, e.String(), c.want)
		}
	}
}

func TestBenchMicroJSON(t *testing.T) {
	var o, e bytes.Buffer
	if err := runBench([]string{"micro", "--records", "20000", "--repeat", "1", "--json"}, &o, &e); err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	var v any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &v); err != nil {
		t.Fatalf("last line is not JSON: %q: %v", lines[len(lines)-1], err)
	}
}
