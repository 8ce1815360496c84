package stream_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// job, timer and actor system must be gone once Execute returns and the
// test's actor systems are shut down. The one exception is protoactor's
// dead-letter log throttle, a goroutine that ends by itself within a
// second; messages in flight when a job stops (a last credit grant) become
// dead letters and start it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		goleak.Cleanup(func(int) { cleanupNodes() }))
}
