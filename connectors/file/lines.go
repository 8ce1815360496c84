package file

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stromhq/strom/connectors/internal/ratelimit"
	"github.com/stromhq/strom/operators"
)

const (
	defaultBufferSize   = 64 << 10
	defaultMaxLineBytes = 64 << 20
)

// LineSource reads the lines of a text file; see the package documentation
// for how subtasks split the file. Create it with [Lines].
type LineSource struct {
	path    string
	bufSize int
	maxLine int
	rate    float64 // records per second across all subtasks; 0 = unlimited
	clock   func() time.Time

	f        *os.File
	r        *bufio.Reader
	sub, par int
	size     int64 // the file's size at Open
	// ranges holds the byte ranges whose lines are left to read, in
	// order; ranges[0] is the one being read. A subtask that did not
	// resume at another parallelism has at most one, its split.
	ranges  []byteRange
	pos     int64 // offset of the next unread byte: the next line
	done    bool
	polled  bool // Poll ran since Open
	limit   *ratelimit.Bucket
	scratch []byte // assembles lines longer than the buffer
}

// byteRange is the byte range [start, end) of a file; the lines that
// start inside it belong to it.
type byteRange struct{ start, end int64 }

var (
	_ operators.Source[string]     = (*LineSource)(nil)
	_ operators.CheckpointedSource = (*LineSource)(nil)
	_ operators.RescalableSource   = (*LineSource)(nil)
)

// Lines returns a source of the lines of the file at path. Records carry
// no event time (operators.NoTimestamp).
func Lines(path string, opts ...LineOption) *LineSource {
	s := &LineSource{path: path, bufSize: defaultBufferSize, maxLine: defaultMaxLineBytes, clock: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Open implements operators.Source: it opens the file and positions the
// reader at the first line that starts in this subtask's range.
func (s *LineSource) Open(ctx *operators.TaskContext) error {
	sub, par := 0, 1
	if ctx != nil && ctx.Parallelism > 0 {
		sub, par = ctx.Subtask, ctx.Parallelism
	}
	if s.f != nil {
		return fmt.Errorf("open input %s: source already open", s.path)
	}
	s.done, s.polled, s.r = false, false, nil
	s.sub, s.par = sub, par
	s.limit = nil
	if s.rate > 0 {
		s.limit = ratelimit.New(ratelimit.PerSubtask(s.rate, par), s.clock)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open input: %w", err)
	}
	if fi.IsDir() {
		f.Close()
		return fmt.Errorf("open input %s: is a directory", s.path)
	}
	s.f = f
	s.size = fi.Size()
	s.ranges, s.pos = nil, 0
	if start, end := span(s.size, sub, par); start < end {
		s.ranges = []byteRange{{start, end}}
	}
	return s.enter(false)
}

// enter positions the reader at the first line that starts in s.ranges[0],
// dropping the leading ranges in which no line starts; the source is done
// once none is left. With continued, s.pos is where the reader is and ends
// a line that was read or skipped, so no line starts between s.pos and the
// last offset read; a range that begins at or before s.pos then continues
// there without a seek. Otherwise the reader seeks to the range's start.
func (s *LineSource) enter(continued bool) error {
	for len(s.ranges) > 0 {
		r := s.ranges[0]
		if !continued || s.pos < r.start {
			if err := s.seekRange(r.start); err != nil {
				return err
			}
			continued = true
		}
		if s.pos < r.end {
			break
		}
		s.ranges = s.ranges[1:]
	}
	s.done = len(s.ranges) == 0
	return nil
}

// seekRange moves the reader to the first line that starts at or after
// start: it steps back one byte and discards through the next newline, so
// that when start is exactly the beginning of a line only the preceding
// "\n" is discarded. A line that starts before start and runs past it is
// skipped: it belongs to whoever reads the range it starts in.
func (s *LineSource) seekRange(start int64) error {
	at := max(start-1, 0)
	if _, err := s.f.Seek(at, io.SeekStart); err != nil {
		return fmt.Errorf("seek input %s: %w", s.path, err)
	}
	if s.r == nil {
		s.r = bufio.NewReaderSize(s.f, s.bufSize)
	} else {
		s.r.Reset(s.f)
	}
	s.pos = at
	if start > 0 {
		return s.skipLine()
	}
	return nil
}

// Poll implements operators.Source: it appends up to max lines and reports
// Done once the last line of the range has been appended. With [Rate] it
// appends no more lines than the subtask's token bucket allows, and when
// that is none it returns a Wait instead of blocking.
func (s *LineSource) Poll(b *operators.Batch[string], max int) (operators.PollResult, error) {
	if s.f == nil {
		return operators.PollResult{}, fmt.Errorf("poll input %s: source not open", s.path)
	}
	s.polled = true
	if s.done {
		return operators.PollResult{Done: true}, nil
	}
	if s.limit != nil && max > 0 {
		n, wait := s.limit.Take(max)
		if n == 0 {
			return operators.PollResult{Wait: wait}, nil
		}
		max = n
	}
	for n := 0; n < max && !s.done; n++ {
		line, ok, err := s.readLine()
		if err != nil {
			return operators.PollResult{}, err
		}
		if !ok {
			s.ranges, s.done = nil, true
			break
		}
		b.Append(string(line), operators.NoTimestamp)
		if s.pos >= s.ranges[0].end {
			// The line was the range's last; go on with the next range.
			s.ranges = s.ranges[1:]
			if err := s.enter(true); err != nil {
				return operators.PollResult{}, err
			}
		}
	}
	return operators.PollResult{Done: s.done}, nil
}

// Close implements operators.Source.
func (s *LineSource) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f, s.r, s.limit = nil, nil, nil
	if err != nil {
		return fmt.Errorf("close input: %w", err)
	}
	return nil
}

// readLine reads the line at s.pos without its terminator and moves s.pos
// past it; on an error s.pos stays at the line. It returns ok=false at the
// end of the file. The slice is valid until the next read.
func (s *LineSource) readLine() (line []byte, ok bool, err error) {
	at := s.pos
	chunk, err := s.r.ReadSlice('\n')
	if err == nil {
		// Fast path: the whole line is in the buffer.
		line, ok, err = s.checkLen(trimEOL(chunk), at)
		if err == nil {
			s.pos += int64(len(chunk))
		}
		return line, ok, err
	}
	s.scratch = append(s.scratch[:0], chunk...)
	for err == bufio.ErrBufferFull {
		if len(s.scratch) > s.maxLine+2 { // too long even without "\r\n"
			return nil, false, s.tooLong(at)
		}
		chunk, err = s.r.ReadSlice('\n')
		s.scratch = append(s.scratch, chunk...)
	}
	switch {
	case err == io.EOF:
		if len(s.scratch) == 0 {
			return nil, false, nil
		}
		// The last line has no terminator.
	case err != nil:
		return nil, false, fmt.Errorf("read input %s at offset %d: %w", s.path, at, err)
	}
	line, ok, err = s.checkLen(trimEOL(s.scratch), at)
	if err == nil {
		s.pos += int64(len(s.scratch))
	}
	return line, ok, err
}

func (s *LineSource) checkLen(line []byte, at int64) ([]byte, bool, error) {
	if len(line) > s.maxLine {
		return nil, false, s.tooLong(at)
	}
	return line, true, nil
}

func (s *LineSource) tooLong(at int64) error {
	return fmt.Errorf("read input %s: line at offset %d is longer than %d bytes", s.path, at, s.maxLine)
}

// skipLine discards bytes through the next newline, however long the line,
// or to the end of the file.
func (s *LineSource) skipLine() error {
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.pos += int64(len(chunk))
		switch {
		case err == nil:
			return nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return nil
		default:
			return fmt.Errorf("read input %s at offset %d: %w", s.path, s.pos, err)
		}
	}
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}
