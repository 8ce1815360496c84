package file

import "time"

// LineOption configures a [LineSource].
type LineOption func(*LineSource)

// BufferSize sets the size of the read buffer (default 64 KiB, at least
// 16 bytes). Lines longer than the buffer are still read whole.
func BufferSize(n int) LineOption {
	return func(s *LineSource) { s.bufSize = max(n, 16) }
}

// MaxLineBytes sets the longest line accepted, without its terminator
// (default 64 MiB). A longer line fails the source.
func MaxLineBytes(n int) LineOption {
	return func(s *LineSource) { s.maxLine = max(n, 0) }
}

// Rate limits the source to perSecond lines per second in total; each of P
// subtasks reads perSecond/P, paced by a token bucket of its own. Poll
// never blocks: when the bucket is empty it returns a Wait. Zero or less,
// the default, means as fast as downstream takes the lines.
func Rate(perSecond float64) LineOption {
	return func(s *LineSource) { s.rate = perSecond }
}

// WithClock replaces the clock the rate limiter reads (default time.Now),
// for tests.
func WithClock(now func() time.Time) LineOption {
	return func(s *LineSource) {
		if now == nil {
			now = time.Now
		}
		s.clock = now
	}
}
