package nexmark

import (
	"encoding/binary"
	"fmt"
)

// Kind tells which of its three records an Event holds.
type Kind uint8

// The kinds of events. The zero Kind is no event.
const (
	KindPerson Kind = iota + 1
	KindAuction
	KindBid
)

func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindAuction:
		return "auction"
	case KindBid:
		return "bid"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Person is a new user of the auction site.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	// DateTime is the event time, in Unix milliseconds.
	DateTime int64
	// Extra is padding that brings the record to its average size.
	Extra string
}

// Auction is an item put up for sale by a person (Seller).
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	// InitialBid and Reserve are prices in cents; Reserve > InitialBid.
	InitialBid int64
	Reserve    int64
	// DateTime is the event time and Expires the end of the auction, in
	// Unix milliseconds.
	DateTime int64
	Expires  int64
	Seller   int64
	Category int64
	Extra    string
}

// Bid is a bid of a person (Bidder) on an auction, at Price cents.
type Bid struct {
	Auction int64
	Bidder  int64
	Price   int64
	Channel string
	URL     string
	// DateTime is the event time, in Unix milliseconds.
	DateTime int64
	Extra    string
}

// Event is one event of the stream: a Person, an Auction or a Bid, as Kind
// tells. Bids are 92% of events and are held by value, so that generating
// and passing one allocates nothing; persons and auctions are held by
// pointer. Of Person, Auction and Bid only the one Kind names is set: the
// others are nil and the zero Bid.
type Event struct {
	Kind    Kind
	Bid     Bid
	Person  *Person
	Auction *Auction
}

// IsBid reports whether e is a bid.
func (e Event) IsBid() bool { return e.Kind == KindBid }

// Size is the record's payload in bytes: 8 for each integer or time field
// plus the length of each string. The generator pads records with Extra so
// that the average sizes are AvgPersonSize, AvgAuctionSize and AvgBidSize.
func (p *Person) Size() int {
	return 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State) + 8 + len(p.Extra)
}

// Size is the record's payload in bytes; see Person.Size.
func (a *Auction) Size() int {
	return 8 + len(a.ItemName) + len(a.Description) + 5*8 + 8 + len(a.Extra)
}

// Size is the record's payload in bytes; see Person.Size.
func (b *Bid) Size() int {
	return 3*8 + len(b.Channel) + len(b.URL) + 8 + len(b.Extra)
}

// Size is the payload of the record e holds; see Person.Size.
func (e *Event) Size() int {
	switch e.Kind {
	case KindPerson:
		return e.Person.Size()
	case KindAuction:
		return e.Auction.Size()
	case KindBid:
		return e.Bid.Size()
	}
	return 0
}

// Row is a result record of a query. AppendCanonical appends its canonical
// binary form to b: the fields in declaration order, each integer as 8
// bytes little-endian, each string as its length (4 bytes little-endian)
// followed by its bytes. The result digest hashes this form.
type Row interface {
	AppendCanonical(b []byte) []byte
}

func appendInt(b []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendCanonical implements Row.
func (p Person) AppendCanonical(b []byte) []byte {
	b = appendInt(b, p.ID)
	b = appendString(b, p.Name)
	b = appendString(b, p.EmailAddress)
	b = appendString(b, p.CreditCard)
	b = appendString(b, p.City)
	b = appendString(b, p.State)
	b = appendInt(b, p.DateTime)
	return appendString(b, p.Extra)
}

// AppendCanonical implements Row.
func (a Auction) AppendCanonical(b []byte) []byte {
	b = appendInt(b, a.ID)
	b = appendString(b, a.ItemName)
	b = appendString(b, a.Description)
	b = appendInt(b, a.InitialBid)
	b = appendInt(b, a.Reserve)
	b = appendInt(b, a.DateTime)
	b = appendInt(b, a.Expires)
	b = appendInt(b, a.Seller)
	b = appendInt(b, a.Category)
	return appendString(b, a.Extra)
}

// AppendCanonical implements Row.
func (x Bid) AppendCanonical(b []byte) []byte {
	b = appendInt(b, x.Auction)
	b = appendInt(b, x.Bidder)
	b = appendInt(b, x.Price)
	b = appendString(b, x.Channel)
	b = appendString(b, x.URL)
	b = appendInt(b, x.DateTime)
	return appendString(b, x.Extra)
}
