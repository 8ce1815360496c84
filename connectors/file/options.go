package file

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
