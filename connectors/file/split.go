package file

import "math/bits"

// splitPoint returns the offset i*size/p at which range i of p begins,
// computed in 128 bits so that large files cannot overflow.
func splitPoint(size int64, i, p int) int64 {
	hi, lo := bits.Mul64(uint64(i), uint64(size))
	q, _ := bits.Div64(hi, lo, uint64(p)) // i <= p, so the quotient fits
	return int64(q)
}

// span returns the byte range [start, end) of subtask i of p.
func span(size int64, i, p int) (start, end int64) {
	return splitPoint(size, i, p), splitPoint(size, i+1, p)
}
