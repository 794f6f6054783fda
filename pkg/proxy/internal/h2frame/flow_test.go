package h2frame

import "testing"

func TestInflow(t *testing.T) {
	type step struct {
		op   string // take, consume, grant, open
		n    int64
		want int64 // take: 1 accepted, 0 refused; grant: the grant
	}
	tests := []struct {
		name        string
		avail, size int64
		steps       []step
	}{
		{"credit is held until a quarter of the window", 100, 100, []step{
			{"take", 30, 1}, {"consume", 24, 0}, {"grant", 0, 0},
			{"consume", 1, 0}, {"grant", 0, 25}, {"grant", 0, 0},
		}},
		{"a grant reopens the window", 100, 100, []step{
			{"take", 100, 1}, {"take", 1, 0}, {"consume", 100, 0},
			{"grant", 0, 100}, {"take", 100, 1}, {"take", 1, 0},
		}},
		{"a refused take takes nothing", 10, 100, []step{
			{"take", 11, 0}, {"take", 10, 1}, {"take", 1, 0},
		}},
		{"open widens the first window without a grant", 10, 100, []step{
			{"open", 90, 0}, {"take", 100, 1}, {"take", 1, 0}, {"grant", 0, 0},
		}},
		{"nothing consumed, nothing granted", 4, 1, []step{
			{"take", 4, 1}, {"grant", 0, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Inflow
			f.Init(tt.avail, tt.size)
			for i, s := range tt.steps {
				var got int64
				switch s.op {
				case "take":
					if f.Take(s.n) {
						got = 1
					}
				case "consume":
					f.Consumed(s.n)
				case "grant":
					got = int64(f.Grant())
				case "open":
					f.Open(s.n)
				}
				if got != s.want {
					t.Fatalf("step %d (%s %d): got %d, want %d", i, s.op, s.n, got, s.want)
				}
			}
		})
	}
}

func TestOutflow(t *testing.T) {
	var conn, stream Outflow
	conn.Init(100)
	stream.Init(30)
	if n := Reserve(&conn, &stream, 50, 16); n != 16 {
		t.Fatalf("reserve within a frame: got %d, want 16", n)
	}
	if n := Reserve(&conn, &stream, 50, 16); n != 14 {
		t.Fatalf("reserve to the stream's window: got %d, want 14", n)
	}
	if n := Reserve(&conn, &stream, 50, 16); n != 0 {
		t.Fatalf("reserve on a closed window: got %d, want 0", n)
	}
	// A lowered initial window can take the stream below zero; it stays
	// closed until updates bring it back above.
	if !stream.Add(-10) {
		t.Fatal("a negative change refused")
	}
	if !stream.Add(15) || Reserve(&conn, &stream, 50, 16) != 5 {
		t.Fatal("the window did not reopen by what was added past the deficit")
	}
	if stream.Add(maxWindow+1) || !stream.CanAdd(maxWindow) {
		t.Fatal("the window's maximum not enforced exactly")
	}
	if n := Reserve(&conn, &stream, 50, 16); n != 0 {
		t.Fatalf("a refused add changed the window: reserved %d", n)
	}
}

func TestTakeStreamData(t *testing.T) {
	var conn, stream Inflow
	conn.Init(100, 40) // grants from 10 of credit
	stream.Init(10, 40)
	if !conn.Take(12) || TakeStreamData(&conn, &stream, 12, 12) {
		t.Fatal("a frame past the stream's window was taken")
	}
	// Refused on the stream, the frame is the connection's to give back.
	if g := conn.Grant(); g != 12 {
		t.Fatalf("connection credit after a refused frame: %d, want 12", g)
	}
	if !conn.Take(10) || !TakeStreamData(&conn, &stream, 10, 6) {
		t.Fatal("a frame within the stream's window was refused")
	}
	// The 4 bytes of padding are consumed on both at once, the data not.
	conn.Consumed(6) // the reader reads the data
	if g := conn.Grant(); g != 10 {
		t.Fatalf("connection credit: %d, want 4 of padding + 6 read", g)
	}
	stream.Consumed(6) // the reader reads the data: 10 reach the batch
	if g := stream.Grant(); g != 10 {
		t.Fatalf("stream credit: %d, want 4 of padding + 6 read", g)
	}
}
