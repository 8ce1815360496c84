package pebblestate

import (
	"testing"

	"go.uber.org/goleak"
)

// Closing a DB stops all of Pebble's goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
