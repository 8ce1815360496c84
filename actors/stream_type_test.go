package actors

import (
	"errors"
	"reflect"
	"testing"

	"github.com/stromhq/strom/codec"
	"github.com/stromhq/strom/operators"
	"github.com/stromhq/strom/protos"
)

func TestRemoteBatchRoundTrip(t *testing.T) {
	c, err := codec.For[string]()
	if err != nil {
		t.Fatal(err)
	}
	st := NewStreamType(c)
	b := operators.NewBatch[string](3)
	b.Append("a", 1)
	b.Append("", operators.NoTimestamp)
	b.Append("ü", 3)
	var m protos.RecordBatch
	st.Encode(b, &m)
	got, err := st.Decode(&m)
	if err != nil {
		t.Fatal(err)
	}
	gb := got.(*operators.Batch[string])
	if !reflect.DeepEqual(gb.Values, []string{"a", "", "ü"}) || !reflect.DeepEqual(gb.Times, []int64{1, operators.NoTimestamp, 3}) {
		t.Fatalf("got %+v", gb)
	}
}

func TestRemoteBatchCorruptionIsAnError(t *testing.T) {
	c, _ := codec.For[string]()
	st := NewStreamType(c)
	cases := map[string]*protos.RecordBatch{
		"garbage payload":     {Count: 2, Payload: []byte{0xff, 0xff, 0xff}, Timestamps: []int64{1, 2}},
		"timestamps mismatch": {Count: 1, Payload: codec.AppendBatch(c, nil, []string{"x", "y"}), Timestamps: []int64{1}},
	}
	for name, m := range cases {
		if _, err := st.Decode(m); err == nil || !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: got %v, want a corruption error", name, err)
		}
	}
	if _, err := NewStreamType[string](nil).Decode(&protos.RecordBatch{}); err == nil {
		t.Error("decoding without a codec succeeded")
	}
}
