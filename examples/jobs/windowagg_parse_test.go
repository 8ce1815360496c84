package jobs

import (
	"strings"
	"testing"
	"time"
)

func TestParseEvent(t *testing.T) {
	good := []struct {
		in   string
		want Event
	}{
		{"1000,a,5", Event{1000, "a", 5}},
		{" 12 , key one , -7\r", Event{12, "key one", -7}},
		{"-5,k,0", Event{-5, "k", 0}},
	}
	for _, c := range good {
		got, err := ParseEvent(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseEvent(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if back, _ := ParseEvent(FormatEvent(got)); back != got {
			t.Errorf("format round trip of %+v gave %+v", got, back)
		}
	}
	for _, bad := range []string{"", "1000", "1000,a", "x,a,1", "1000,,1", "1000,a,1.5", "1000,a,", "1000,a,b,c", "99999999999999999999,a,1"} {
		if _, err := ParseEvent(bad); err == nil {
			t.Errorf("ParseEvent(%q) accepted a malformed line", bad)
		}
	}
}

func TestParseWindowSpec(t *testing.T) {
	good := map[string]WindowSpec{
		"tumbling:10s":      {Kind: "tumbling", Size: 10 * time.Second},
		"sliding:10s,2s":    {Kind: "sliding", Size: 10 * time.Second, Slide: 2 * time.Second},
		"session:500ms":     {Kind: "session", Gap: 500 * time.Millisecond},
		"sliding:1m, 15s":   {Kind: "sliding", Size: time.Minute, Slide: 15 * time.Second},
		"tumbling:1h30m":    {Kind: "tumbling", Size: 90 * time.Minute},
		"sliding:10ms,10ms": {Kind: "sliding", Size: 10 * time.Millisecond, Slide: 10 * time.Millisecond},
		"tumbling:1ms":      {Kind: "tumbling", Size: time.Millisecond},
		"sliding:3s,1500ms": {Kind: "sliding", Size: 3 * time.Second, Slide: 1500 * time.Millisecond},
	}
	for in, want := range good {
		got, err := ParseWindowSpec(in)
		if err != nil || got != want {
			t.Errorf("ParseWindowSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"10s":              "want tumbling",
		"hopping:10s":      "unknown window kind",
		"tumbling:ten":     "not a duration",
		"tumbling:0s":      "positive",
		"tumbling:-1s":     "positive",
		"tumbling:1500us":  "whole number of milliseconds",
		"sliding:10s":      "sliding:SIZE,SLIDE",
		"sliding:2s,10s":   "larger than size",
		"session:":         "not a duration",
		"sliding:10s,zero": "slide",
	}
	for in, want := range bad {
		if _, err := ParseWindowSpec(in); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--window") {
			t.Errorf("ParseWindowSpec(%q) = %v; want an error naming --window and %q", in, err, want)
		}
	}
}
