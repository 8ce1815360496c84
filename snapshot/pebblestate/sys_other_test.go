//go:build !unix

package pebblestate

import (
	"os"
	"time"
)

func linkCount(os.FileInfo) (uint64, bool) { return 0, false }

func cpuTime() (time.Duration, bool) { return 0, false }
