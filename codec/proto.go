package codec

import (
	"errors"
	"fmt"
	"reflect"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

var (
	// marshalOptions makes map fields encode in sorted key order. AllowPartial
	// keeps proto2 messages with unset required fields encodable; the
	// unmarshal side accepts them likewise.
	marshalOptions   = proto.MarshalOptions{Deterministic: true, AllowPartial: true}
	unmarshalOptions = proto.UnmarshalOptions{AllowPartial: true}

	protoMessageType = reflect.TypeFor[proto.Message]()
)

// Proto returns the codec for the protobuf message type T, normally a pointer to
// a generated struct such as *pb.Event: a uvarint length, then the message
// marshaled deterministically (map fields sorted by key). Deterministic output
// is stable for a given protobuf-go version; the protobuf wire format itself
// guarantees that any version can decode it.
//
// A nil message encodes like an empty one (length 0) and decodes as a new
// empty message. Append panics if marshaling fails, which for proto3 messages
// means a string field holds invalid UTF-8. Proto panics if T's message type
// cannot be determined from its Go type (for example *dynamicpb.Message);
// write a Codec for such messages by hand.
func Proto[T proto.Message]() Codec[T] {
	c, err := newProtoCodec[T]()
	if err != nil {
		panic(err)
	}
	return c
}

// newProtoCodec returns the codec for a pointer type T implementing
// proto.Message.
func newProtoCodec[T any]() (Codec[T], error) {
	t := reflect.TypeFor[T]()
	mt, err := messageTypeOf(t)
	if err != nil {
		return nil, fmt.Errorf("codec: unsupported type %v: %w", t, err)
	}
	return protoCodec[T]{mt: mt}, nil
}

// messageTypeOf finds the message type of the pointer type t, recovering from
// message implementations that cannot describe themselves without a value.
func messageTypeOf(t reflect.Type) (mt protoreflect.MessageType, err error) {
	if t.Kind() != reflect.Pointer {
		return nil, errors.New("protobuf messages must be pointers")
	}
	defer func() {
		if r := recover(); r != nil {
			mt, err = nil, fmt.Errorf("cannot determine protobuf message type: %v", r)
		}
	}()
	mt = reflect.New(t.Elem()).Interface().(proto.Message).ProtoReflect().Type()
	if got := reflect.TypeOf(mt.New().Interface()); got != t {
		return nil, fmt.Errorf("its protobuf message type creates %v", got)
	}
	return mt, nil
}

// protoCodec encodes pointer message types as length-prefixed protobuf.
type protoCodec[T any] struct {
	mt protoreflect.MessageType
}

// Append implements Codec.
func (c protoCodec[T]) Append(dst []byte, v T) []byte {
	return appendProto(dst, any(v).(proto.Message))
}

// Decode implements Codec; it always returns a new message.
func (c protoCodec[T]) Decode(src []byte) (T, int, error) {
	m := c.mt.New().Interface()
	n, err := readProto(src, m)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	return m.(T), n, nil
}

func (protoCodec[T]) minEncodedLen() int { return 1 }

// protoValueCodec encodes a struct type T whose pointer implements
// proto.Message, marshaling through the value's address.
type protoValueCodec[T any] struct{}

// Append implements Codec.
func (protoValueCodec[T]) Append(dst []byte, v T) []byte {
	return appendProto(dst, any(&v).(proto.Message))
}

// Decode implements Codec.
func (protoValueCodec[T]) Decode(src []byte) (T, int, error) {
	var v T
	n, err := readProto(src, any(&v).(proto.Message))
	if err != nil {
		var zero T
		return zero, 0, err
	}
	return v, n, nil
}

func (protoValueCodec[T]) minEncodedLen() int { return 1 }

// appendProto appends m's deterministic marshaling with a uvarint length prefix.
func appendProto(dst []byte, m proto.Message) []byte {
	size := marshalOptions.Size(m)
	start := len(dst)
	dst = appendUvarint(dst, uint64(size))
	body := len(dst)
	dst, err := marshalOptions.MarshalAppend(dst, m)
	if err != nil {
		panic(fmt.Sprintf("codec: marshal %T: %v", m, err))
	}
	if len(dst)-body == size {
		return dst
	}
	// The size did not match the output (the message changed in between);
	// move the body behind a corrected prefix.
	msg := append([]byte(nil), dst[body:]...)
	dst = appendUvarint(dst[:start], uint64(len(msg)))
	return append(dst, msg...)
}

// readProto decodes a length-prefixed message from the front of src into m.
func readProto(src []byte, m proto.Message) (int, error) {
	b, n, err := readLen(src)
	if err != nil {
		return 0, err
	}
	if err := unmarshalOptions.Unmarshal(b, m); err != nil {
		return 0, fmt.Errorf("%w: protobuf %v: %w", ErrCorrupt, m.ProtoReflect().Descriptor().FullName(), err)
	}
	return n, nil
}
