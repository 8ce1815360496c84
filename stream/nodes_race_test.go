//go:build race

package stream_test

// cleanupNodes has nothing to stop: the remote tests do not run under the
// race detector.
func cleanupNodes() {}
